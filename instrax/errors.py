"""Errors meaning "the user must fix something": the CLIs print them without a traceback."""


class UserError(Exception):
  """A problem with the input, config, data or workdir; the message says what to fix."""


class ConfigError(UserError):
  """Unknown key or name, wrong type or inconsistent values in a config."""


class DatasetError(UserError):
  """A dataset is missing, empty, malformed or of the wrong version."""


class AudioDecodeError(UserError):
  """An audio file could not be read or holds no usable samples."""

  def __init__(self, path: str, reason: str):
    super().__init__(f"{path}: {reason}")
    self.path = path
    self.reason = reason


class CheckpointError(UserError):
  """A workdir holds no checkpoint, or one that does not match the configured model."""


class NoSignalError(AudioDecodeError):
  """An audio file decodes but holds no usable signal (`instrax.audio.level` defines it)."""


class NonFiniteError(UserError, ValueError):
  """Model outputs or scores hold NaN or infinite values (a diverged or broken model)."""
