"""Tasks: what a model predicts, its loss, and how predictions are aggregated and scored.

Importing this package registers every task family in `TASKS`.
"""

from instrax.tasks import (
    clip_classification,  # noqa: F401
    lead,  # noqa: F401
    separation,  # noqa: F401
    tagging,  # noqa: F401
    transcription,  # noqa: F401
)
from instrax.tasks.base import TASKS, Task  # noqa: F401
