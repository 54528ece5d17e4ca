"""What does an instrument model call single notes rendered by each bank? A diagnostic for real-
audio transfer (issue #14): if a model names a class's rendered notes from every bank but not a
real recording of that class, the real timbre lies outside what the banks play, and more of the
same renders will not teach it.

  python bench/probe_banks.py [--workdir=shipped/instruments] [--classes=cla,vio]
      [--banks=TimGM6mb,FluidR3_GM] [--keys=4] [--json=probe.json]

For each IRMAS class, each GM program of the class (instrax.data.vocabularies.GM_TO_IRMAS) and
each bank that has a preset for it, `--keys` notes spread evenly over the program's playing
range (data_builders/synthmix/instruments.py RANGES: the keys at fractions 1/(n+1) … n/(n+1))
are rendered alone, dry, 1 s long (held 0.05–0.95 s, velocity 90) at 16 kHz, like one `rich`
stem, and scored through the model's predict machinery (instrax.predict). Each note's rank of
its class is 1 + the classes scored strictly higher (bench/eval_transfer.rank_of_truth). The
table: per class and bank, top-1 right / notes, the mean rank, and the commonest wrong answer.
Default banks: those of synthmix `rich` installed here (`make soundfonts`).
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval_transfer import rank_of_truth  # noqa: E402
from data_builders.synthmix import instruments, render, synthmix  # noqa: E402
from instrax.data import vocabularies  # noqa: E402

SAMPLE_RATE = 16000  # synthmix `rich`
NOTE = (0.05, 0.95, 90)  # onset s, offset s, velocity of each probe note
DURATION_S = 1.0


def probe_keys(program: int, count: int) -> list[int]:
  """`count` MIDI keys evenly inside `program`'s playing range (RANGES), lowest first."""
  lo, hi = instruments.RANGES[program]
  return [round(lo + (hi - lo) * (i + 1) / (count + 1)) for i in range(count)]


def default_banks() -> list[str]:
  """The banks of synthmix `rich` installed on this machine."""
  return [b for b in synthmix.RICH_BANKS if b in render.available()]


def probe(scorer, banks: list[str], classes: list[str], keys: int,
          folder: pathlib.Path) -> list[dict]:
  """One row per rendered note: {"class", "program", "bank", "key", "top1", "rank"};
  `scorer(path)` = class scores of a WAV file, or None when the model finds no signal in it
  (a silent preset: top1 and rank are then None)."""
  import soundfile as sf

  renderer = render.Renderer(banks, SAMPLE_RATE)
  rows = []
  for cls in classes:
    for program in sorted(p for p, c in vocabularies.GM_TO_IRMAS.items() if c == cls):
      for font in renderer.fonts_with(program):
        for key in probe_keys(program, keys):
          notes = np.array([[NOTE[0], NOTE[1], key, NOTE[2]]], float)
          audio = renderer.render(program, notes, round(DURATION_S * SAMPLE_RATE), font=font)
          path = folder / f"{cls}_{program}_{font}_{key}.wav"
          sf.write(path, audio, SAMPLE_RATE)
          scores = scorer(str(path))
          rows.append({"class": cls, "program": program, "bank": banks[font], "key": key,
                       "top1": max(scores, key=scores.get) if scores else None,
                       "rank": rank_of_truth(scores, [cls]) if scores else None})
  return rows


def table(rows: list[dict]) -> str:
  """Markdown: per class and bank, top-1 right / notes, mean rank, commonest wrong top-1 (notes
  the model found silent are left out and counted in the last column)."""
  groups: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
  silent: collections.Counter = collections.Counter()
  for r in rows:
    if r["rank"] is None:
      silent[(r["class"], r["bank"])] += 1
    else:
      groups[(r["class"], r["bank"])].append(r)
  lines = ["| class | bank | top-1 | mean rank | commonest wrong top-1 | silent |",
           "|---|---|---:|---:|---|---:|"]
  for cls, bank in dict.fromkeys([*groups, *silent]):
    rs = groups.get((cls, bank), [])
    wrong = collections.Counter(r["top1"] for r in rs if r["rank"] > 1).most_common(1)
    lines.append(f"| {cls} | {bank} | {sum(r['rank'] == 1 for r in rs)}/{len(rs)} | "
                 f"{np.mean([r['rank'] for r in rs]) if rs else float('nan'):.2f} | "
                 f"{f'{wrong[0][0]} ({wrong[0][1]})' if wrong else '—'} | "
                 f"{silent[(cls, bank)]} |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", default=None,
                      help="a run, export or ensemble folder (default: the shipped model)")
  parser.add_argument("--checkpoint", default="latest")
  parser.add_argument("--classes", default=",".join(vocabularies.IRMAS),
                      help="IRMAS class codes, comma-separated")
  parser.add_argument("--banks", default=None,
                      help="bank names or SoundFont paths, comma-separated (default: rich's)")
  parser.add_argument("--keys", type=int, default=4, help="notes per program and bank")
  parser.add_argument("--json", default=None, help="also write the per-note rows here")
  args = parser.parse_args(argv)
  from instrax.errors import UserError
  from instrax.predict import make_predictor, shipped_workdir

  classes = [c.strip() for c in args.classes.split(",") if c.strip()]
  unknown = [c for c in classes if c not in vocabularies.IRMAS]
  if unknown or not classes or args.keys < 1:
    parser.error(f"--classes takes IRMAS codes ({', '.join(vocabularies.IRMAS)}), got "
                 f"{args.classes!r}; --keys must be >= 1")
  banks = args.banks.split(",") if args.banks else default_banks()
  try:
    predictor = make_predictor(args.workdir or shipped_workdir("instruments"), args.checkpoint)

    def scorer(path: str) -> dict[str, float] | None:
      result = predictor.predict_file(path)
      return result["prediction"]["scores"] if result["status"] == "ok" else None

    with tempfile.TemporaryDirectory() as tmp:
      rows = probe(scorer, banks, classes, args.keys, pathlib.Path(tmp))
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(table(rows))
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
