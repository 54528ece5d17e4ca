"""Killed or preempted runs resume bit-exactly: same final state, metrics and results.

Every run here is `launch.py --config=configs/demo.py:tiny` for 12 steps on 1 CPU device; the
reference runs uninterrupted, the others are killed (SIGKILL) or preempted (SIGTERM) mid-run and
relaunched with the same command on the same workdir.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests import reliability as rel

STEPS = 12
COMMON = (f"--config.train.num_steps={STEPS}", "--config.train.log_every=2",
          "--config.train.eval_every=3", "--config.train.early_stopping_patience=3")


def _results(workdir: str) -> dict:
  """The final state's numbers in results.json (reported as "final/…" when a best checkpoint
  before the end is the headline), so runs with other evaluation schedules compare."""
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  if "final/step" in saved:
    return {"step": saved["final/step"], **{k[len("final/"):]: v for k, v in saved.items()
                                             if k.startswith("final/") and k != "final/step"}}
  return {k: v for k, v in saved.items() if k not in ("checkpoint", "selected_on")}


def _train_rows(workdir: str) -> list[dict]:
  return [r for r in rel.comparable_rows(workdir) if "train/loss" in r]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, synth_data_dir) -> str:
  """An uninterrupted run (train_and_eval), checkpointing every 3 steps."""
  workdir = str(tmp_path_factory.mktemp("reference"))
  rel.run_ok(rel.launch_args(workdir, synth_data_dir, *COMMON, "--config.train.checkpoint_every=3",
                             mode="train_and_eval"), rel.run_env())
  return workdir


def _kill_and_resume(workdir: str, data_dir: str, flags: tuple[str, ...], hold_at: int,
                     sig: int) -> tuple[int, str, list[int], str]:
  """Launches, holds the run once update `hold_at` is computed (before it is logged or saved:
  loop.py's INSTRAX_HOLD_AT_STEP hook), sends `sig`, relaunches the same command.

  No timing race: the run cannot finish, nor pass step `hold_at`, before the signal. Returns the
  first launch's exit code and log, the checkpoint steps it left, and the second launch's stderr.
  """
  args = rel.launch_args(workdir, data_dir, *COMMON, *flags, mode="train_and_eval")
  log, mark = os.path.join(workdir, "first_launch.log"), os.path.join(workdir, "held")
  env = rel.run_env(INSTRAX_HOLD_AT_STEP=str(hold_at), INSTRAX_HOLD_MARK=mark)
  proc = rel.start(args, env, log)
  rel.wait_until(proc, lambda: os.path.exists(mark), log)
  assert rel.logged_step(workdir) < hold_at  # held before step hold_at was logged
  code = rel.kill(proc, sig)
  with open(log) as f:
    first = f.read()
  left = rel.steps(workdir)
  second = rel.run_ok(args, rel.run_env()).stderr
  return code, first, left, second


def _assert_same_run(workdir: str, reference: str, all_rows: bool = True) -> None:
  rel.assert_same_state(rel.restored_state(workdir), rel.restored_state(reference))
  assert _results(workdir) == _results(reference)
  if all_rows:  # every logged value, eval rows included, once each, in order
    assert rel.comparable_rows(workdir) == rel.comparable_rows(reference)
  else:
    assert _train_rows(workdir) == _train_rows(reference)


@pytest.mark.parametrize("checkpoint_every,kill_at,async_save", [
    (3, 4, False),  # resumes from 3: the logging window (step 3's loss) comes from the checkpoint
    pytest.param(1, 2, False, marks=pytest.mark.slow),
    pytest.param(2, 8, True, marks=pytest.mark.slow),  # asynchronous checkpoints
])
def test_sigkill_then_relaunch_is_bit_exact(tmp_path, synth_data_dir, reference,
                                            checkpoint_every, kill_at, async_save):
  workdir = str(tmp_path)
  code, _, left, second = _kill_and_resume(
      workdir, synth_data_dir, (f"--config.train.checkpoint_every={checkpoint_every}",
                                f"--config.train.async_checkpoints={async_save}"),
      kill_at, signal.SIGKILL)
  assert code == -signal.SIGKILL
  if not async_save:  # every checkpoint step before the kill (by checkpoint_every or eval_every=3)
    assert max(left) == max(s for s in range(1, kill_at) if s % checkpoint_every == 0 or s % 3 == 0)
  if left:
    assert f"at step {max(left)}" in second  # resumed from the last complete checkpoint
  _assert_same_run(workdir, reference)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_checkpoints_the_current_step_and_resumes_exactly(tmp_path, synth_data_dir,
                                                                  reference, sig):
  workdir = str(tmp_path)
  # No periodic checkpoint before the end: the only one the first launch can leave is SIGTERM's.
  flags = ("--config.train.checkpoint_every=100", "--config.train.eval_every=0")
  code, log, left, second = _kill_and_resume(workdir, synth_data_dir, flags, 5, sig)
  assert code == 2, log[-3000:]  # a clean exit through launch.py's error path
  assert "Traceback" not in log
  assert "error: Preempted (SIGTERM/Ctrl-C): checkpoint written at step 5." in log
  assert left == [5]
  assert f"Resumed from {workdir}/checkpoints at step 5" in second
  _assert_same_run(workdir, reference, all_rows=False)


@pytest.mark.slow
def test_an_early_stopped_run_stays_stopped_on_relaunch(tmp_path, synth_data_dir):
  workdir = str(tmp_path)
  # micro_recall saturates at 1.0 (the calibrated threshold starts low), so with patience 1 some
  # evaluation soon fails to improve on the best.
  args = rel.launch_args(workdir, synth_data_dir, f"--config.train.num_steps={STEPS}",
                         "--config.train.eval_every=1", "--config.train.early_stopping_patience=1",
                         "--config.train.best_metric=micro_recall")
  rel.run_ok(args, rel.run_env())
  left, rows = rel.steps(workdir), rel.jsonl(workdir)
  assert max(left) < STEPS
  second = rel.run_ok(args, rel.run_env()).stderr
  assert f"stopped early at step {max(left)}; nothing to train" in second
  assert rel.steps(workdir) == left and rel.jsonl(workdir) == rows
