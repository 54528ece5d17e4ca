"""Console logging of the command-line tools: instrax's own lines, warnings and progress bars.

Libraries (Orbax, JAX, grain, TFDS: through absl's or their own loggers) log dozens of INFO lines
per checkpoint save; by default only their warnings and errors reach the console. absl's
`--verbosity` decides the rest: 0 (default) instrax INFO; ≥ 1 every logger at DEBUG, libraries
included; -1 warnings only; -2 errors only.
"""

from __future__ import annotations

import logging

OWN_LOGGERS = ("root", "instrax", "data_builders", "__main__")  # `logging.info` logs to "root"


class OwnLinesFilter(logging.Filter):
  """Passes warnings and errors of every logger, and lower levels only from instrax's loggers."""

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING:
      return True
    return record.name.partition(".")[0] in OWN_LOGGERS


_FILTER = OwnLinesFilter()


def configure(verbosity: int) -> None:
  """Sets the console up for absl `--verbosity`: at ≤ 0 libraries below WARNING are dropped.

  Call after absl parsed the flags (inside the `main` of `absl.app.run`), which set the root
  logger's level from `--verbosity` (0 → INFO, 1 → DEBUG, -1 → WARNING).
  """
  root = logging.getLogger()
  for handler in root.handlers:
    handler.removeFilter(_FILTER)
    if verbosity <= 0:
      handler.addFilter(_FILTER)
