"""OpenMIC-2018 on disk: reading and validating the release files, labels, partitions, errata.

Source of truth for labels: `openmic-2018.npz` (`Y_true`/`Y_mask`), the arrays every published
OpenMIC protocol trains and scores on. `openmic-2018-aggregated-labels.csv` is only a cross-check:
after applying the errata to both, its observed (key, class) pairs must equal `Y_mask` and its
relevances `Y_true`; any disagreement is a `DatasetError`.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import pathlib
import pickle
import zipfile
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from instrax.data.vocabularies import OPENMIC
from instrax.errors import ConfigError, DatasetError

NPZ = "openmic-2018.npz"
CLASS_MAP = "class-map.json"
LABELS_CSV = "openmic-2018-aggregated-labels.csv"
METADATA_CSV = "openmic-2018-metadata.csv"
PARTITIONS = {"train": "partitions/split01_train.csv", "test": "partitions/split01_test.csv"}
# Clips of the official split01 (datasets.md); validation is carved from train.
OFFICIAL_COUNTS = {"train+validation": 14915, "test": 5085}
NPZ_KEYS = ("X", "Y_true", "Y_mask", "sample_key")
FRAMES, EMBEDDING = 10, 128
UNOBSERVED = 0.5  # Y_true's value where Y_mask is False
LABEL_TOLERANCE = 1e-6

# Labels hand-corrected to "present" by the dataset authors (cosmir/openmic-2018 README, Errata).
ERRATA: tuple[tuple[str, str], ...] = (
    ("095253_134400", "piano"), ("095263_96000", "mallet_percussion"),
    ("113025_99840", "trumpet"))
# FMA source tracks whose audio was corrupted at collection time; their clips are kept as released.
CORRUPTED_TRACKS = ("071826", "071827", "087435", "095253", "095259", "095263", "102144",
                    "113025", "113604", "138485")


@dataclasses.dataclass(frozen=True)
class Npz:
  """The contents of `openmic-2018.npz`, cast to fixed dtypes; row i belongs to `keys[i]`."""
  keys: np.ndarray  # (N,) str
  vggish: np.ndarray  # (N, 10, 128) float32, 0..255
  relevance: np.ndarray  # (N, 20) float32, 0.5 where unobserved
  mask: np.ndarray  # (N, 20) bool, True where observed

  def index(self) -> dict[str, int]:
    return {k: i for i, k in enumerate(self.keys)}


def find_root(manual_dir: str | os.PathLike) -> pathlib.Path:
  """The extracted `openmic-2018/` folder: `manual_dir` itself or its `openmic-2018` child."""
  base = pathlib.Path(manual_dir)
  for root in (base, base / "openmic-2018"):
    if (root / NPZ).is_file():
      return root
  raise DatasetError(f"No {NPZ} in {base} or {base / 'openmic-2018'}: extract "
                     "openmic-2018-v1.0.0.tgz there (see the builder's manual download "
                     "instructions).")


class _ArrayUnpickler(pickle.Unpickler):
  """Unpickles numpy object arrays of plain Python values only: no other global can load."""

  ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"),
                       ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                       ("numpy", "dtype")})

  def find_class(self, module: str, name: str):
    if (module, name) not in self.ALLOWED:
      raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an npz")
    return super().find_class(module, name)


def load_npz_without_code(path: pathlib.Path) -> dict[str, np.ndarray]:
  """Every array of an .npz; object arrays (OpenMIC's `sample_key`) are unpickled with an
  unpickler that can only rebuild numpy arrays of plain values, so a tampered file cannot run
  code (np.load(allow_pickle=True) would)."""
  arrays = {}
  with zipfile.ZipFile(path) as z:
    for member in z.namelist():
      if not member.endswith(".npy"):
        continue
      f = io.BytesIO(z.read(member))
      version = np.lib.format.read_magic(f)
      read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                     else np.lib.format.read_array_header_2_0)
      _, _, dtype = read_header(f)
      if dtype.hasobject:
        arrays[member[:-4]] = np.asarray(_ArrayUnpickler(f).load())
      else:
        f.seek(0)
        arrays[member[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
  return arrays


def load_npz(path: str | os.PathLike) -> Npz:
  """Reads and validates the npz (keys, shapes, value ranges); casts to the `Npz` dtypes."""
  path = pathlib.Path(path)
  try:
    arrays = load_npz_without_code(path)
  except Exception as e:  # zip, pickle and OS errors all mean "unreadable"
    raise DatasetError(f"{path}: cannot read npz ({type(e).__name__}: {e})") from e
  missing = [k for k in NPZ_KEYS if k not in arrays]
  if missing:
    raise DatasetError(f"{path}: missing array(s) {missing}; found {sorted(arrays)}")
  x, y_true, y_mask, keys = (arrays[k] for k in NPZ_KEYS)
  n = len(keys)
  want = {"X": (n, FRAMES, EMBEDDING), "Y_true": (n, len(OPENMIC)), "Y_mask": (n, len(OPENMIC)),
          "sample_key": (n,)}
  for name, arr in zip(NPZ_KEYS, (x, y_true, y_mask, keys)):
    if arr.shape != want[name]:
      raise DatasetError(f"{path}: {name} has shape {arr.shape}, expected {want[name]} "
                         f"(N = {n} sample keys, {len(OPENMIC)} classes)")
  if x.dtype == np.int8:  # quantised bytes stored signed: reinterpret, don't clip
    x = x.view(np.uint8)
  vggish = x.astype(np.float32)
  if n and (not np.all(np.isfinite(vggish)) or vggish.min() < 0 or vggish.max() > 255):
    raise DatasetError(f"{path}: X holds values outside 0..255 (VGGish bytes expected)")
  relevance = y_true.astype(np.float32)
  if n and (not np.all(np.isfinite(relevance)) or relevance.min() < 0 or relevance.max() > 1):
    raise DatasetError(f"{path}: Y_true holds values outside [0, 1]")
  mask = y_mask.astype(bool)
  unobserved = ~mask & (np.abs(relevance - UNOBSERVED) > LABEL_TOLERANCE)
  if unobserved.any():
    i, j = np.argwhere(unobserved)[0]
    raise DatasetError(f"{path}: unobserved {keys[i]}/{OPENMIC[j]} has Y_true {relevance[i, j]} "
                       f"(expected {UNOBSERVED} where Y_mask is False)")
  keys = np.array([str(k) for k in keys], dtype=str)
  if len(set(keys.tolist())) != n:
    raise DatasetError(f"{path}: sample_key holds duplicate keys")
  return Npz(keys, vggish, relevance, mask)


def load_class_map(path: str | os.PathLike, num_columns: int) -> tuple[str, ...]:
  """Class names in column order from `class-map.json`; must equal the OpenMIC vocabulary."""
  path = pathlib.Path(path)
  try:
    mapping = json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise DatasetError(f"{path}: cannot read class map ({e})") from e
  if not isinstance(mapping, dict) or sorted(mapping.values()) != list(range(len(mapping))):
    raise DatasetError(f"{path}: expected {{name: index}} with indices 0..n-1, got {mapping}")
  classes = tuple(sorted(mapping, key=mapping.get))
  if len(classes) != num_columns:
    raise DatasetError(f"{path}: {len(classes)} classes but the npz has {num_columns} label "
                       "columns")
  if classes != OPENMIC:
    diff = [f"{i}: {c!r} != {o!r}" for i, (c, o) in enumerate(zip(classes, OPENMIC)) if c != o]
    raise DatasetError(f"{path}: classes differ from instrax's OpenMIC vocabulary ({diff})")
  return classes


def read_partition(path: str | os.PathLike) -> list[str]:
  """Sample keys of a `partitions/split01_*.csv` file (no header, one key per line)."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise DatasetError(f"{path}: partition file not found")
  keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
  if not keys:
    raise DatasetError(f"{path}: lists no sample keys")
  if len(set(keys)) != len(keys):
    raise DatasetError(f"{path}: lists some sample keys more than once")
  return keys


def read_partitions(root: str | os.PathLike, known: Iterable[str]) -> dict[str, list[str]]:
  """{"train", "test"} -> keys; every key must be in the npz, and train/test must not overlap."""
  root, known = pathlib.Path(root), set(known)
  parts = {}
  for split, rel in PARTITIONS.items():
    keys = read_partition(root / rel)
    absent = [k for k in keys if k not in known]
    if absent:
      raise DatasetError(f"{root / rel}: {len(absent)} key(s) not in {NPZ}, e.g. {absent[:5]}")
    parts[split] = keys
  both = sorted(set(parts["train"]) & set(parts["test"]))
  if both:
    raise DatasetError(f"{root / 'partitions'}: {len(both)} key(s) in both train and test, "
                       f"e.g. {both[:5]}")
  return parts


def labels_from_csv(path: str | os.PathLike, keys: Sequence[str],
                    classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
  """Dense (relevance float64, mask bool), rows = `keys`, from the long-format aggregated CSV."""
  path = pathlib.Path(path)
  row_of = {k: i for i, k in enumerate(keys)}
  col_of = {c: j for j, c in enumerate(classes)}
  relevance = np.full((len(keys), len(classes)), UNOBSERVED)
  mask = np.zeros((len(keys), len(classes)), bool)
  with path.open(newline="") as f:
    reader = csv.DictReader(f)
    need = {"sample_key", "instrument", "relevance"}
    if not need <= set(reader.fieldnames or ()):
      raise DatasetError(f"{path}: header {reader.fieldnames} lacks {sorted(need)}")
    for line, row in enumerate(reader, start=2):
      key, inst = row["sample_key"], row["instrument"]
      if key not in row_of:
        raise DatasetError(f"{path}:{line}: sample key {key!r} is not in {NPZ}")
      if inst not in col_of:
        raise DatasetError(f"{path}:{line}: unknown instrument {inst!r}")
      i, j = row_of[key], col_of[inst]
      if mask[i, j]:
        raise DatasetError(f"{path}:{line}: ({key}, {inst}) is listed twice")
      try:
        relevance[i, j] = float(row["relevance"])
      except ValueError as e:
        raise DatasetError(f"{path}:{line}: relevance {row['relevance']!r} is not a number") from e
      mask[i, j] = True
  return relevance, mask


def apply_errata(relevance: np.ndarray, mask: np.ndarray, keys: Sequence[str],
                 classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
  """Copies with the `ERRATA` pairs marked present (1.0, observed) unless already positive.

  Returns (relevance, mask, number of entries changed); keys absent from `keys` are ignored.
  """
  relevance, mask = relevance.copy(), mask.copy()
  row_of = {k: i for i, k in enumerate(keys)}
  changed = 0
  for key, inst in ERRATA:
    if key not in row_of:
      continue
    i, j = row_of[key], list(classes).index(inst)
    if not (mask[i, j] and relevance[i, j] > UNOBSERVED):
      relevance[i, j], mask[i, j] = 1.0, True
      changed += 1
  return relevance, mask, changed


def check_labels_agree(npz: Npz, csv_relevance: np.ndarray, csv_mask: np.ndarray,
                       source: str) -> None:
  """Raises unless the CSV's observed pairs and relevances equal the npz's (errata pairs aside).

  Both sides are compared as read: the errata pairs are skipped, since either file may or may
  not already carry the hand corrections.
  """
  differ = (npz.mask != csv_mask) | (npz.mask & (np.abs(npz.relevance - csv_relevance)
                                                 > LABEL_TOLERANCE))
  row_of = npz.index()
  for key, inst in ERRATA:
    if key in row_of:
      differ[row_of[key], OPENMIC.index(inst)] = False
  bad = np.argwhere(differ)
  if len(bad):
    examples = [
        f"{npz.keys[i]}/{OPENMIC[j]}: npz ({bool(npz.mask[i, j])}, {npz.relevance[i, j]:.4f}) "
        f"vs csv ({bool(csv_mask[i, j])}, {csv_relevance[i, j]:.4f})" for i, j in bad[:5]]
    raise DatasetError(f"{source} disagrees with {NPZ} on {len(bad)} (key, class) pair(s), "
                       f"e.g. {examples}")


def load_labelled(root: str | os.PathLike) -> Npz:
  """The validated npz with the errata applied, cross-checked against the aggregated CSV."""
  root = pathlib.Path(root)
  npz = load_npz(root / NPZ)
  classes = load_class_map(root / CLASS_MAP, npz.relevance.shape[1])
  labels = root / LABELS_CSV
  if labels.is_file():
    csv_relevance, csv_mask = labels_from_csv(labels, npz.keys, classes)
    check_labels_agree(npz, csv_relevance, csv_mask, str(labels))
  else:
    logging.warning("%s not found: labels not cross-checked", labels)
  relevance, mask, changed = apply_errata(npz.relevance, npz.mask, npz.keys, classes)
  logging.info("applied %d label errata", changed)
  return dataclasses.replace(npz, relevance=relevance, mask=mask)


def read_artists(path: str | os.PathLike) -> dict[str, str]:
  """sample_key -> FMA artist id from `openmic-2018-metadata.csv` (rows with an artist only)."""
  path = pathlib.Path(path)
  with path.open(newline="") as f:
    reader = csv.DictReader(f)
    if not {"sample_key", "artist_id"} <= set(reader.fieldnames or ()):
      raise DatasetError(f"{path}: needs columns sample_key and artist_id")
    out = {}
    for row in reader:
      artist = row["artist_id"].strip()
      if artist:
        out[row["sample_key"]] = artist[:-2] if artist.endswith(".0") else artist
  return out


def group_of(key: str, artists: Mapping[str, str]) -> str:
  """Grouping unit for the validation carve: the FMA artist, else the FMA track (key prefix)."""
  return f"artist:{artists[key]}" if key in artists else f"track:{key.split('_')[0]}"


def carve_validation(keys: Sequence[str], groups: Mapping[str, str], fraction: float,
                     seed: int = 0) -> tuple[list[str], list[str]]:
  """Splits `keys` into (train, validation) by whole groups, ~`fraction` of keys in validation.

  Groups are taken in a fixed hash order (stable across machines and library versions) until
  the validation part reaches `round(fraction * len(keys))` keys. Both parts keep `keys`' order.
  """
  if not 0.0 <= fraction < 1.0:
    raise ConfigError(f"validation_fraction must be in [0, 1), got {fraction}")
  target = round(fraction * len(keys))
  if target == 0:
    return list(keys), []
  sizes: dict[str, int] = {}
  for k in keys:
    sizes[groups[k]] = sizes.get(groups[k], 0) + 1
  order = sorted(sizes, key=lambda g: hashlib.sha1(f"{seed}:{g}".encode()).hexdigest())
  chosen, n = set(), 0
  for g in order:
    if n >= target:
      break
    chosen.add(g)
    n += sizes[g]
  if len(chosen) == len(sizes):
    raise DatasetError(f"cannot carve a validation split of {fraction:.0%} from {len(keys)} "
                       f"train keys in {len(sizes)} group(s): nothing would be left to train on")
  return ([k for k in keys if groups[k] not in chosen], [k for k in keys if groups[k] in chosen])


def make_splits(root: str | os.PathLike, keys: Iterable[str], validation_fraction: float,
                seed: int = 0) -> dict[str, list[str]]:
  """{"train", "validation", "test"} -> keys (validation omitted when empty).

  Validation is carved from split01_train by whole artists when the metadata CSV is there
  (keys it lacks fall back to their FMA track), else by whole FMA tracks.
  """
  root = pathlib.Path(root)
  parts = read_partitions(root, keys)
  metadata = root / METADATA_CSV
  artists = read_artists(metadata) if metadata.is_file() else {}
  groups = {k: group_of(k, artists) for k in parts["train"]}
  train, validation = carve_validation(parts["train"], groups, validation_fraction, seed)
  splits = {"train": train, "validation": validation, "test": parts["test"]}
  return {name: ks for name, ks in splits.items() if ks}


def audio_path(root: str | os.PathLike, key: str) -> pathlib.Path:
  """`audio/<key[:3]>/<key>.ogg` under the dataset root."""
  return pathlib.Path(root) / "audio" / key[:3] / f"{key}.ogg"
