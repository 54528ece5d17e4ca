"""Console logging: instrax's lines and every warning by default, libraries' INFO only with -v."""

from __future__ import annotations

import subprocess
import sys

import pytest

_APP = """
import logging
from absl import app, flags, logging as absl_logging
from instrax import logs

def main(argv):
  logs.configure(flags.FLAGS.verbosity)
  logging.info("own-root")                                   # instrax modules: logging.info
  logging.getLogger("instrax.train.loop").info("own-named")
  absl_logging.info("lib-absl-info")                         # Orbax, TFDS, grain log like this
  logging.getLogger("jax._src.xla_bridge").info("lib-jax-info")
  absl_logging.warning("lib-absl-warning")
  logging.getLogger("orbax").error("lib-orbax-error")
  logging.debug("own-debug")

app.run(main)
"""


def _lines(*flags: str) -> set[str]:
  out = subprocess.run([sys.executable, "-c", _APP, *flags], capture_output=True, text=True,
                       check=True, timeout=60)
  return {w for w in out.stderr.split() if w.startswith(("own-", "lib-"))}


@pytest.mark.parametrize(("flags", "expected"), [
    ((), {"own-root", "own-named", "lib-absl-warning", "lib-orbax-error"}),
    (("--verbosity=1",), {"own-root", "own-named", "lib-absl-info", "lib-jax-info",
                          "lib-absl-warning", "lib-orbax-error", "own-debug"}),
    (("--verbosity=-1",), {"lib-absl-warning", "lib-orbax-error"}),
])
def test_verbosity_decides_which_lines_reach_the_console(flags, expected):
  assert _lines(*flags) == expected


@pytest.mark.parametrize("spec", ["synthmix/tiny", "irmas", "openmic2018/features"])
def test_local_builds_do_not_print_tfds_download_sizes(spec, tmp_path, capfd, caplog):
  """TFDS prints "Downloading and preparing dataset Unknown size …" around every build; our
  builders read local files and log one line each way instead."""
  import data_builders

  builder = data_builders.get_builder(spec, str(tmp_path))
  with caplog.at_level("INFO"):
    builder._log_download_bytes()
    builder._log_download_done()
  assert capfd.readouterr().out == ""
  assert [r.getMessage().split()[0] for r in caplog.records] == ["Building", "Dataset"]
