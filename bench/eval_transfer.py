"""Real-audio transfer of an instrument model: top-1 accuracy and mean rank of the true class on
real recordings with IRMAS-vocabulary labels.

  python bench/eval_transfer.py --workdir=RUN [--checkpoint=latest] [--json=out.json]
  python -m bench.eval_transfer --workdir=RUN

Files (under --fixtures, default ../shared/fixtures next to the repository, or $INSTRAX_SHARED/
fixtures): group `real_transfer` = real_transfer/labels.csv (one instrument each); group `real` =
the labelled files of real/ whose labels are IRMAS classes: IRMAS training excerpts (class =
folder), IRMAS testing excerpts (classes in the .txt beside each), Medley-solos-DB and TinySOL
files of instruments IRMAS names. A file whose audio repeats an earlier one counts once.

Each file goes through the run's predict machinery (instrax.predict.Predictor: whole file,
segment by segment, windows merged as in evaluation). Its rank = 1 + the number of classes scored
strictly higher than its best-scored true class; top-1 is right when the rank is 1.

`--tilt_db=S` is a sensitivity check, not the protocol: each file is scored with its spectrum
tilted by S dB/octave about 1 kHz (brighter for S > 0), to see how much the answers hang on
brightness (BENCHMARKS.md, "Spectral tilt").
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import os
import pathlib
import sys
from collections.abc import Callable, Iterable, Mapping

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from instrax.data import vocabularies

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDLEY_SOLOS = {"clarinet": "cla", "distorted electric guitar": "gel", "female singer": "voi",
                "flute": "flu", "piano": "pia", "tenor saxophone": "sax", "trumpet": "tru",
                "violin": "vio"}
TINYSOL = {"Flute": "flu", "Clarinet in Bb": "cla", "Violoncello": "cel", "Violin": "vio",
           "Alto Saxophone": "sax", "Trumpet in C": "tru"}


@dataclasses.dataclass(frozen=True)
class Item:
  group: str  # "real_transfer" or "real"
  path: str
  labels: tuple[str, ...]  # IRMAS class codes


def default_fixtures() -> pathlib.Path:
  shared = os.environ.get("INSTRAX_SHARED")
  return (pathlib.Path(shared) if shared else ROOT.parent / "shared") / "fixtures"


def _irmas(root: pathlib.Path) -> Iterable[tuple[pathlib.Path, tuple[str, ...]]]:
  for wav in sorted(root.glob("IRMAS-TrainingData/*/*.wav")):
    yield wav, (wav.parent.name,)
  for wav in sorted(root.glob("IRMAS-TestingData*/**/*.wav")):
    txt = wav.with_suffix(".txt")
    if txt.exists():
      yield wav, tuple(x.strip() for x in txt.read_text().split() if x.strip())


def _medley_solos(root: pathlib.Path) -> Iterable[tuple[pathlib.Path, tuple[str, ...]]]:
  meta = root / "annotation" / "Medley-solos-DB_metadata.csv"
  if meta.exists():
    with open(meta) as f:
      for row in csv.DictReader(f):
        wav = root / "audio" / (f"Medley-solos-DB_{row['subset']}-{row['instrument_id']}_"
                                f"{row['uuid4']}.wav")
        if wav.exists() and row["instrument"] in MEDLEY_SOLOS:
          yield wav, (MEDLEY_SOLOS[row["instrument"]],)


def _tinysol(root: pathlib.Path) -> Iterable[tuple[pathlib.Path, tuple[str, ...]]]:
  meta = root / "annotation" / "TinySOL_metadata.csv"
  if meta.exists():
    with open(meta) as f:
      for row in csv.DictReader(f):
        wav = root / "audio" / row["Path"]
        if wav.exists() and row["Instrument (in full)"] in TINYSOL:
          yield wav, (TINYSOL[row["Instrument (in full)"]],)


def labelled_files(fixtures: str | os.PathLike) -> list[Item]:
  """The labelled real files under `fixtures` (see the module docstring), duplicates dropped."""
  fixtures = pathlib.Path(fixtures)
  found: list[tuple[str, pathlib.Path, tuple[str, ...]]] = []
  table = fixtures / "real_transfer" / "labels.csv"
  if table.exists():
    with open(table) as f:
      found += [("real_transfer", fixtures / "real_transfer" / "audio" / r["file"],
                 (r["instrument"],)) for r in csv.DictReader(f)]
  real = fixtures / "real"
  for name, reader in (("irmas", _irmas), ("medley_solos_db", _medley_solos),
                       ("tinysol", _tinysol)):
    found += [("real", p, labels) for p, labels in reader(real / name)]
  items, seen = [], set()
  for group, path, labels in found:
    digest = hashlib.sha1(path.read_bytes()).hexdigest()
    labels = tuple(c for c in labels if c in vocabularies.IRMAS)
    if digest not in seen and labels:
      seen.add(digest)
      items.append(Item(group, str(path), labels))
  return items


def rank_of_truth(scores: Mapping[str, float], labels: Iterable[str]) -> int:
  """1 + the number of classes scored strictly higher than the best-scored class of `labels`."""
  best = max(scores[c] for c in labels)
  return 1 + sum(s > best for s in scores.values())


def summarize(ranks: list[int]) -> dict[str, float]:
  """{"files", "top1_correct", "top1_accuracy", "mean_rank"} of per-file ranks."""
  n = len(ranks)
  correct = sum(r == 1 for r in ranks)
  return {"files": n, "top1_correct": correct, "top1_accuracy": correct / n if n else float("nan"),
          "mean_rank": sum(ranks) / n if n else float("nan")}


def evaluate(items: list[Item], scorer: Callable[[str], Mapping[str, float]]) -> dict:
  """{"files": [per-file rows], "groups": {group: summary}} with `scorer(path)` = class scores."""
  rows = []
  for item in items:
    scores = scorer(item.path)
    rank = rank_of_truth(scores, item.labels)
    rows.append({"group": item.group, "file": os.path.basename(item.path),
                 "labels": list(item.labels), "top1": max(scores, key=scores.get), "rank": rank})
  groups = {g: summarize([r["rank"] for r in rows if r["group"] == g])
            for g in dict.fromkeys(r["group"] for r in rows)}
  groups["all"] = summarize([r["rank"] for r in rows])
  return {"files": rows, "groups": groups}


def tilted(scorer: Callable[[str], Mapping[str, float]], slope_db_per_octave: float,
           folder: str | os.PathLike) -> Callable[[str], Mapping[str, float]]:
  """`scorer` of a copy of each file (written under `folder`, peak 0.5, float WAV) whose
  spectrum is tilted by `slope_db_per_octave` about 1 kHz (instrax.data.spectral_tilt; every
  channel alike): how much a model's answer hangs on brightness."""
  import numpy as np
  import soundfile as sf

  from instrax.data import spectral_tilt

  count = iter(range(1 << 30))

  def score(path: str) -> Mapping[str, float]:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)  # (T, C)
    out = spectral_tilt.tilt(audio.T, sr, np.full(audio.shape[1], slope_db_per_octave)).T
    peak = float(np.abs(out).max())
    copy = pathlib.Path(folder) / f"{next(count)}_{pathlib.Path(path).stem}.wav"
    sf.write(copy, out * (0.5 / peak) if peak > 0 else out, sr, subtype="FLOAT")
    return scorer(str(copy))

  return score


def irmas_predictor(workdir: str, checkpoint: str = "latest"):
  """`instrax.predict.make_predictor(workdir, checkpoint)`; a UserError when the run does not
  predict the IRMAS classes (the labels of every file here)."""
  from instrax.errors import UserError
  from instrax.predict import make_predictor

  predictor = make_predictor(workdir, checkpoint)
  if list(predictor.exp.task.class_names) != list(vocabularies.IRMAS):
    raise UserError(f"{workdir} does not predict the IRMAS classes (its classes: "
                    f"{', '.join(predictor.exp.task.class_names)})")
  return predictor


def scorer_of(predictor) -> Callable[[str], Mapping[str, float]]:
  """path → the class scores `predictor` gives the whole file (as `predict` does)."""
  return lambda path: predictor.predict_file(path)["prediction"]["scores"]


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True,
                      help="a run directory made by launch.py, an export or an ensemble folder")
  parser.add_argument("--checkpoint", default="latest")
  parser.add_argument("--fixtures", default=None, help="folder holding real_transfer/ and real/")
  parser.add_argument("--json", default=None, help="also write the results here")
  parser.add_argument("--tilt_db", type=float, default=0.0,
                      help="a sensitivity check, not the protocol: score every file with its "
                           "spectrum tilted by this many dB/octave about 1 kHz")
  args = parser.parse_args(argv)
  import tempfile

  from instrax.errors import UserError

  fixtures = args.fixtures or default_fixtures()
  items = labelled_files(fixtures)
  if not items:
    print(f"error: no labelled real files under {fixtures} (pass --fixtures=DIR)", file=sys.stderr)
    return 2
  try:
    predictor = irmas_predictor(args.workdir, args.checkpoint)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  scorer = scorer_of(predictor)
  with tempfile.TemporaryDirectory() as tmp:
    result = evaluate(items, tilted(scorer, args.tilt_db, tmp) if args.tilt_db else scorer)
  result["run"] = {"workdir": args.workdir, "checkpoint": args.checkpoint, "step": predictor.step,
                   **({"tilt_db": args.tilt_db} if args.tilt_db else {})}
  for r in result["files"]:
    print(f"{r['group']:<14} {r['file'][:44]:<44} {','.join(r['labels']):<8} "
          f"top1={r['top1']} rank={r['rank']}")
  for group, s in result["groups"].items():
    print(f"{group}: top-1 {s['top1_correct']}/{s['files']} ({s['top1_accuracy']:.3f}), "
          f"mean rank {s['mean_rank']:.2f}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
