"""Lead-track detection from multitracks, `ch_cls` (seed 000 §1): per 75 Hz frame, which track
leads — class 0 = none, 1 = the mix, 1 + k = stem k.

Dataset examples (synthmix, data_builders/medleydb_lead): `audio` (T, C) mix, `stems` (K, T),
an instrument id per stem (`instruments_key`; synthmix `programs` are GM programs, stored id =
program + `instrument_offset`), `lead` (F,) int32 at `frame_rate` Hz = stem index (0-based) or −1.
Audio is resampled to `model_sample_rate` (24 kHz: hop 320 → 75 frames/s, as MERT) here, since the
model owns its frontend (`frontend_inputs = ()`).

Training: a random `segment_s` crop (+ one hop of padding, as the seed's 120,320 samples),
`ch_permute` (stems shuffled, the mix kept first, labels recomputed), tracks zero-padded to
`max_tracks` with `track_mask`; per-frame cross-entropy. Evaluation: `segment_s` windows every
`eval_hop_s` over the whole song; per-segment metrics as the seed (macro-F1 over present classes,
the same on instruments, frame accuracy), and the same on the stitched whole song (overlapping
windows' log-probabilities averaged).

`formulation="inst_cls"` (the seed's instrument classification): the classes are instrument ids
instead — 0 = unknown, 1.. = the vocabulary, then `mix_id`, then `na_id` = no lead — so targets
name the lead's instrument, not its track; metrics, figures and predictions map them back to the
first track of that instrument where a track is needed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from instrax import plots
from instrax.audio import io
from instrax.data import lead_vocabulary
from instrax.errors import ConfigError, DatasetError
from instrax.metrics import lead as lead_metrics
from instrax.tasks import lead_figures
from instrax.tasks.base import TASKS, Example, Task

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")
ACTIVITY_RATE = 10.0  # Hz of the heatmap's activity rows
FORMULATIONS = ("ch_cls", "inst_cls")


def _float_audio(x: np.ndarray) -> np.ndarray:
  x = np.asarray(x)
  return io.from_pcm16(x) if x.dtype == np.int16 else x.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Song:
  """One example's tracks as stored (int16 or float; converted only where read, so a long
  many-track song is never held in float32 whole), instrument ids and lead labels."""

  mix: np.ndarray | None  # (T,) or (T, C) as stored; None = the sum of the stems
  stems: np.ndarray  # (K, T) as stored
  ids: np.ndarray  # (K,) int32 instrument ids
  labels: np.ndarray  # (F,) int64 lead stem per frame (−1 = none); empty when unlabelled
  length: int  # samples of the shorter of mix and stems

  def tracks(self, start: int = 0, stop: int | None = None) -> np.ndarray:
    """(1 + K, n) float32 mix + stems of samples [start, stop) (clipped to the song)."""
    stop = self.length if stop is None else min(stop, self.length)
    start = min(start, stop)
    stems = _float_audio(self.stems[:, start:stop])
    if self.mix is None:
      return np.concatenate([stems.sum(axis=0, keepdims=True), stems])
    mix = _float_audio(self.mix[start:stop])
    return np.concatenate([(mix.mean(axis=1) if mix.ndim == 2 else mix)[None], stems])


@TASKS.register("lead_detection")
@dataclasses.dataclass
class LeadDetection(Task):
  """Per-frame lead-track classification over a padded set of stems (see module docstring)."""

  sample_rate: int  # of the stored data
  channels: int = 1  # unused: every track is mixed down to mono
  model_sample_rate: int = 24000
  hop_length: int = 320  # encoder samples per frame
  segment_s: float = 5.0
  eval_hop_s: float = 2.5
  max_tracks: int = 26  # stems (the mix excluded); seed: 27 tracks with the mix
  ch_permute: bool = True
  mix_key: str = "audio"
  stems_key: str = "stems"
  lead_key: str = "lead"
  instruments_key: str = "programs"
  instrument_offset: int = 1  # stored value + offset = instrument id (0 stays "unknown")
  instrument_vocabulary: str = "gm"
  heatmap_s: float = 10.0  # seconds of each example kept for the heatmap figure
  eval_group: int = 8  # evaluation windows read and packed at once (bounds a long song's memory)
  formulation: str = "ch_cls"  # or "inst_cls"
  frontend_inputs: tuple[str, ...] = ()
  allow_specaugment: bool = False
  allow_mixup: bool = False

  def __post_init__(self):
    if self.model_sample_rate % self.hop_length:
      raise ConfigError(f"task.hop_length {self.hop_length} must divide model_sample_rate "
                        f"{self.model_sample_rate}")
    if not 1 <= self.max_tracks <= 64:
      raise ConfigError(f"task.max_tracks must be in 1..64, got {self.max_tracks}")
    if self.eval_hop_s <= 0 or self.segment_s <= 0 or self.eval_hop_s > self.segment_s:
      raise ConfigError("task: need 0 < eval_hop_s ≤ segment_s")
    if self.eval_group < 1:
      raise ConfigError(f"task.eval_group must be ≥ 1, got {self.eval_group}")
    if self.formulation not in FORMULATIONS:
      raise ConfigError(f"task.formulation={self.formulation!r}; choose from "
                        f"{', '.join(FORMULATIONS)}")
    self.instrument_names = lead_vocabulary.names(self.instrument_vocabulary)
    self.mix_id = len(self.instrument_names) + 1  # the model's own id for the mix
    self.na_id = len(self.instrument_names) + 2
    self.inst_cls = self.formulation == "inst_cls"
    self.class_names = (("unknown", *self.instrument_names, "mix", "none") if self.inst_cls else
                        ("none", "mix", *(f"track_{k}" for k in range(1, self.max_tracks + 1))))

  # ---- shapes -----------------------------------------------------------------------------
  @property
  def frame_rate(self) -> float:
    return self.model_sample_rate / self.hop_length

  @property
  def segment_frames(self) -> int:
    return round(self.segment_s * self.frame_rate)

  @property
  def segment_samples(self) -> int:
    return self.segment_frames * self.hop_length + self.hop_length  # + one hop, as the seed

  @property
  def num_outputs(self) -> int:
    return len(self.class_names)

  def features(self) -> tuple[str, ...]:
    return ("id", self.mix_key, self.stems_key, self.lead_key, self.instruments_key)

  def input_spec(self) -> dict[str, jax.ShapeDtypeStruct]:
    n, t = self.max_tracks, self.segment_samples
    return {"mix": jax.ShapeDtypeStruct((1, t), jnp.float32),
            "stems": jax.ShapeDtypeStruct((n, t), jnp.float32),
            "track_mask": jax.ShapeDtypeStruct((n,), jnp.bool_),
            "inst_ids": jax.ShapeDtypeStruct((n,), jnp.int32)}

  def model_kwargs(self) -> dict[str, Any]:
    return {"num_classes": self.num_outputs, "num_instruments": len(self.instrument_names)}

  def target_spec(self) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((1, self.segment_frames, self.num_outputs), jnp.float32)

  # ---- reading examples -------------------------------------------------------------------
  def _song(self, example: Example) -> Song:
    """The example's tracks, ids and labels, checked; audio not yet converted."""
    stems = np.asarray(example[self.stems_key])
    if stems.ndim != 2:
      raise DatasetError(f"{self.stems_key!r} must be (tracks, samples), got {stems.shape}")
    k = stems.shape[0]
    if not 1 <= k <= self.max_tracks:
      raise DatasetError(f"example {example.get('id')!r} has {k} stems; task.max_tracks is "
                         f"{self.max_tracks} (raise it)")
    mix = np.asarray(example[self.mix_key]) if self.mix_key in example else None
    t = stems.shape[1] if mix is None else min(len(mix), stems.shape[1])
    ids = np.asarray(example.get(self.instruments_key, np.zeros(k, np.int64)), np.int64)
    ids = np.where(ids >= 0, ids + self.instrument_offset, 0).astype(np.int32)
    if len(ids) != k:
      raise DatasetError(f"{len(ids)} instrument ids for {k} stems in {example.get('id')!r}")
    labels = np.asarray(example.get(self.lead_key, np.zeros(0)), np.int64)  # none: predict
    if labels.size and labels.max() >= k:
      raise DatasetError(f"lead label {labels.max()} names a stem beyond the {k} stems of "
                         f"{example.get('id')!r}")
    return Song(mix, stems, ids, labels, t)

  def _tracks(self, example: Example) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1 + K, T) float32 mix + stems of the whole song at the data rate, (K,) instrument ids,
    (F,) labels (the SVM baseline's whole-song view)."""
    song = self._song(example)
    return song.tracks(), song.ids, song.labels

  def _crop(self, song: Song, start_frame: int) -> np.ndarray:
    """(1 + K, segment_samples) mix + stems at the model rate from `start_frame`."""
    ratio = self.sample_rate / self.model_sample_rate
    start = round(start_frame * self.hop_length * ratio)
    length = int(np.ceil(self.segment_samples * ratio)) + 1
    piece = song.tracks(start, start + length)
    if piece.shape[1]:
      piece = io.resample(piece, self.sample_rate, self.model_sample_rate)
    piece = piece[:, :self.segment_samples]
    return np.pad(piece, ((0, 0), (0, self.segment_samples - piece.shape[1])))

  def _classes(self, labels: np.ndarray, start: int, order: np.ndarray) -> np.ndarray:
    """Labels of frames [start, start + segment_frames) as classes after stem order `order`
    (position p holds old stem order[p]); frames past the end are 0."""
    seg = np.full(self.segment_frames, -1, np.int64)
    part = labels[start:start + self.segment_frames]
    seg[:len(part)] = part
    position = np.argsort(order)
    return np.where(seg >= 0, position[np.maximum(seg, 0)] + 2, 0).astype(np.int32)

  def _pack(self, audio: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
    k = audio.shape[0] - 1
    stems = np.zeros((self.max_tracks, audio.shape[1]), np.float32)
    stems[:k] = audio[1:]
    inst = np.zeros(self.max_tracks, np.int32)
    inst[:k] = ids
    return {"mix": audio[:1].astype(np.float32), "stems": stems,
            "track_mask": np.arange(self.max_tracks) < k, "inst_ids": inst}

  # ---- training ---------------------------------------------------------------------------
  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    song = self._song(example)
    ids, labels, k = song.ids, song.labels, len(song.ids)
    start = int(rng.integers(0, max(len(labels) - self.segment_frames, 0) + 1))
    order = rng.permutation(k) if self.ch_permute else np.arange(k)
    audio = self._crop(song, start)
    audio = np.concatenate([audio[:1], audio[1:][order]])
    targets = self._as_target(self._classes(labels, start, order), ids[order])
    return {**self._pack(audio, ids[order]), "targets": targets}

  def _as_target(self, track_classes: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Track classes → the formulation's classes (inst_cls: the tracks' instrument ids)."""
    if not self.inst_cls:
      return track_classes
    return lead_metrics.to_instruments(track_classes, ids, self.na_id, self.mix_id).astype(
        np.int32)

  def _as_tracks(self, classes: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The formulation's classes → track classes (inst_cls: the first track of the instrument;
    no lead, or an instrument no track has, → 0)."""
    if not self.inst_cls:
      return classes
    table = np.zeros(self.num_outputs, np.int64)
    for k in range(len(ids) - 1, -1, -1):  # reversed: the first track wins
      table[ids[k]] = k + 2
    table[self.mix_id], table[self.na_id] = 1, 0
    return table[np.asarray(classes, np.int64)]

  def loss(self, outputs: jax.Array, batch: Example) -> tuple[jax.Array, dict[str, jax.Array]]:
    logits = outputs.astype(jnp.float32)
    targets = batch["targets"]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()
    return loss, {"frame_accuracy": jnp.mean(jnp.argmax(logits, -1) == targets)}

  # ---- evaluation -------------------------------------------------------------------------
  def _windows(self, num_frames: int) -> list[tuple[int, int]]:
    hop = round(self.eval_hop_s * self.frame_rate)
    return lead_metrics.windows(num_frames, self.segment_frames, hop)

  def _num_frames(self, song: Song) -> int:
    if song.labels.size:
      return len(song.labels)
    return int(song.length * self.frame_rate // self.sample_rate)

  def eval_inputs(self, example: Example) -> Iterator[dict[str, np.ndarray]]:
    """The song's `segment_s` windows every `eval_hop_s`, as parts of `eval_group` windows
    (read from the stored audio part by part: a long many-track song is never held whole in
    float32)."""
    song = self._song(example)
    windows = self._windows(self._num_frames(song))
    for i in range(0, len(windows), self.eval_group):
      chunks = [self._pack(self._crop(song, a), song.ids)
                for a, _ in windows[i:i + self.eval_group]]
      yield {key: np.stack([c[key] for c in chunks]) for key in chunks[0]}

  def _activity(self, song: Song) -> np.ndarray:
    """The heatmap's per-track activity rows (lead_figures.activity), a minute at a time."""
    win = max(round(self.sample_rate / ACTIVITY_RATE), 1)
    block = win * int(60 * ACTIVITY_RATE)
    parts = [lead_figures.activity(song.tracks(a, a + block), self.sample_rate, ACTIVITY_RATE)
             for a in range(0, max(song.length, 1), block)]
    return np.concatenate(parts, axis=1)

  def combine(self, outputs: np.ndarray, example: Example) -> dict[str, Any]:
    """Window logits (n, segment_frames, classes) → whole-song log-probabilities (F, classes)
    (overlaps averaged), each window's own argmax, and what predict/plots need."""
    song = self._song(example)
    ids = song.ids
    n_frames = self._num_frames(song)
    windows = self._windows(n_frames)
    logits = np.asarray(outputs, np.float32)
    if logits.shape[:2] != (len(windows), self.segment_frames):
      raise ValueError(f"outputs {logits.shape} do not match {len(windows)} windows of "
                       f"{self.segment_frames} frames")
    logp = np.asarray(jax.nn.log_softmax(logits, axis=-1))
    total = np.zeros((n_frames, logits.shape[-1]), np.float64)
    count = np.zeros((n_frames, 1))
    for (a, b), w in zip(windows, logp):
      total[a:b] += w[:b - a]
      count[a:b] += 1
    k = len(ids)
    names = ["mix", *(self._stem_name(example, i, ids[i]) for i in range(k))]
    return {"log_probs": (total / np.maximum(count, 1)).astype(np.float32),
            "segment_pred": logits.argmax(-1).astype(np.int16),
            "activity": self._activity(song),
            "track_names": names, "inst_ids": ids, "id": _text(example.get("id", ""))}

  def _stem_name(self, example: Example, i: int, inst_id: int) -> str:
    given = example.get("track_names")
    if given is not None and i < len(given):
      return _text(given[i])
    return f"{i + 1}:{self.instrument_name(inst_id)}"

  def instrument_name(self, inst_id: int) -> str:
    return self.instrument_names[inst_id - 1] if 1 <= inst_id <= len(self.instrument_names) \
        else "unknown"

  def example_stats(self, combined: dict[str, Any], example: Example) -> dict[str, Any]:
    """Per-segment F1s, song-level counts and F1s, the confusion matrix, a heatmap excerpt."""
    song = self._song(example)
    ids, labels = song.ids, song.labels
    truth = self._as_target(np.where(labels >= 0, labels + 2, 0), ids)
    pred = combined["log_probs"].argmax(-1)
    to_inst = ((lambda y: y) if self.inst_cls else
               (lambda y: lead_metrics.to_instruments(y, ids, self.na_id, self.mix_id)))
    seg_f1, seg_inst_f1, seg_hits, seg_frames = [], [], 0, 0
    for (a, b), p in zip(self._windows(len(truth)), combined["segment_pred"]):
      t, p = truth[a:b], p[:b - a]
      seg_f1.append(lead_metrics.macro_f1_present(t, p))
      seg_inst_f1.append(lead_metrics.macro_f1_present(to_inst(t), to_inst(p)))
      seg_hits += int(np.sum(t == p))
      seg_frames += len(t)
    n = self.num_outputs
    excerpt = int(self.heatmap_s * self.frame_rate)
    return {
        "id": combined["id"], "segment_f1": seg_f1, "segment_inst_f1": seg_inst_f1,
        "segment_hits": seg_hits, "segment_frames": seg_frames,
        "hits": int(np.sum(truth == pred)), "frames": len(truth),
        "song_f1": lead_metrics.macro_f1_present(truth, pred),
        "song_inst_f1": lead_metrics.macro_f1_present(to_inst(truth), to_inst(pred)),
        "confusion": lead_metrics.confusion_matrix(truth, pred, n),
        "heatmap": {"activity": combined["activity"][:, :int(self.heatmap_s * ACTIVITY_RATE)],
                    "truth": self._as_tracks(truth[:excerpt], ids).astype(np.int16),
                    "pred": self._as_tracks(pred[:excerpt], ids).astype(np.int16),
                    "track_names": combined["track_names"]},
    }

  def calibrate(self, stats: list) -> dict[str, Any]:
    del stats
    return {}

  def metrics(self, stats: list, calibration: dict[str, Any]) -> dict[str, float]:
    """segment_* as the seed (means over all 5-s segments); frame_accuracy and song_* on the
    stitched whole songs (frame-weighted accuracy, per-song F1 averaged)."""
    del calibration
    if not stats:
      return {}
    seg = np.concatenate([s["segment_f1"] for s in stats])
    seg_inst = np.concatenate([s["segment_inst_f1"] for s in stats])
    return {
        "segment_f1": float(np.mean(seg)), "segment_inst_f1": float(np.mean(seg_inst)),
        "segment_accuracy": sum(s["segment_hits"] for s in stats)
        / max(sum(s["segment_frames"] for s in stats), 1),
        "frame_accuracy": sum(s["hits"] for s in stats) / max(sum(s["frames"] for s in stats), 1),
        "song_f1": float(np.mean([s["song_f1"] for s in stats])),
        "song_inst_f1": float(np.mean([s["song_inst_f1"] for s in stats])),
        "segments": float(len(seg)),
    }

  def summaries(self, stats: list, calibration: dict[str, Any]) -> dict[str, Any]:
    del calibration
    if not stats:
      return {}
    matrix = np.sum([s["confusion"] for s in stats], axis=0)
    used = np.flatnonzero(matrix.sum(0) + matrix.sum(1)) if matrix.any() else np.arange(2)
    names = [self.class_names[i] for i in used]
    figures = {"confusion": plots.confusion_figure(matrix[np.ix_(used, used)], names, names,
                                                   "lead track: true → predicted (frames)")}
    for i, s in enumerate(stats[:3]):
      h = s["heatmap"]
      figures[f"heatmap_{i}"] = lead_figures.heatmap_figure(
          h["activity"], ACTIVITY_RATE, h["track_names"], h["truth"], h["pred"], self.frame_rate,
          title=s["id"])
    return figures

  def table(self, metrics: dict[str, float]) -> str:
    keys = ("segment_f1", "segment_inst_f1", "segment_accuracy", "frame_accuracy", "song_f1",
            "song_inst_f1")
    return "\n".join(f"{k:<18} {metrics[k]:.4f}" for k in keys if k in metrics)

  # ---- predict ----------------------------------------------------------------------------
  def predict_inputs(self, path: str, sample_rate: int, channels: int,
                     segment_s: float) -> Iterator[tuple[float, Example]]:
    """A folder of stems; a file named like `*mix*` is the mix (else the stems are summed).
    Instrument of each stem: given in `instruments.json` ({file name: instrument}) in the
    folder, else from a MedleyDB `*_METADATA.yaml` in the folder or its parent, else from the
    file name (a vocabulary name in it), else unknown. Hidden files (`._x`) are ignored. The song
    is read whole (one segment)."""
    del sample_rate, channels, segment_s
    root = pathlib.Path(path)
    if not root.is_dir():
      raise DatasetError(f"{path}: lead detection reads a folder of stems")
    files = sorted(f for f in root.iterdir()
                   if f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."))
    mixes = [f for f in files if "mix" in f.stem.lower()]
    stems = [f for f in files if f not in mixes]
    if not stems:
      raise DatasetError(f"{path}: no stem audio files ({', '.join(AUDIO_EXTENSIONS)})")
    audio = [io.load(f, self.sample_rate, 1)[0][0] for f in stems]
    t = max(len(a) for a in audio)
    names = stem_instruments(root, stems)
    example: Example = {
        "id": root.name,
        self.stems_key: np.stack([np.pad(a, (0, t - len(a))) for a in audio]),
        self.instruments_key: np.array([lead_vocabulary.instrument_id(n, self.instrument_vocabulary)
                                        - self.instrument_offset for n in names]),
        "track_names": [f.stem for f in stems]}
    if mixes:
      example[self.mix_key] = io.load(mixes[0], self.sample_rate, 1)[0][0]
    yield 0.0, example

  def predict(self, combined: dict[str, Any], calibration: dict[str, Any]) -> dict[str, Any]:
    """The lead timeline [{start, end, track, instrument}] (no-lead gaps left out), per-frame
    classes, and the heatmap data."""
    del calibration
    pred = combined["log_probs"].argmax(-1)
    names, ids = combined["track_names"], combined["inst_ids"]
    rows = self._as_tracks(pred, ids)
    timeline = []
    edges = np.flatnonzero(np.diff(pred)) + 1
    for a, b in zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(pred)]])):
      c, row = int(pred[a]), int(rows[a])
      if (c == self.na_id) if self.inst_cls else (c == 0):
        continue
      if self.inst_cls:
        instrument = self.class_names[c]
      else:
        instrument = "mix" if c == 1 else self.instrument_name(int(ids[c - 2]))
      timeline.append({"start": round(a / self.frame_rate, 3), "end": round(b / self.frame_rate, 3),
                       "track": names[row - 1] if row else "", "instrument": instrument})
    return {"id": combined["id"], "timeline": timeline, "frame_rate": self.frame_rate,
            "frames": rows.astype(int).tolist(), "track_names": list(names),
            "activity_rate": ACTIVITY_RATE,
            "activity": np.round(combined["activity"], 3).tolist()}

  def write_prediction(self, prediction: dict[str, Any], stem: str, output_dir: str) -> list[str]:
    """`<stem>.lead.csv`, `<stem>.lead.json` (the timeline) and `<stem>.lead.png` (heatmap)."""
    out = pathlib.Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"{stem}.lead.csv", out / f"{stem}.lead.json"
    with open(csv_path, "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=["start", "end", "track", "instrument"])
      writer.writeheader()
      writer.writerows(prediction["timeline"])
    json_path.write_text(json.dumps({"id": prediction["id"], "timeline": prediction["timeline"]},
                                    indent=1))
    fig = lead_figures.heatmap_figure(np.asarray(prediction["activity"], np.float32),
                                      prediction["activity_rate"], prediction["track_names"],
                                      None, np.asarray(prediction["frames"]),
                                      prediction["frame_rate"], title=str(prediction["id"]))
    png = plots.save_figure(fig, out / f"{stem}.lead.png")
    return [str(csv_path), str(json_path), str(png)]

  # ---- the old interface's names, for the spine in transition ---------------------------------
  def reference(self, example: Example) -> Any:
    return example


def stem_instruments(folder: pathlib.Path, stems: list[pathlib.Path]) -> list[str]:
  """The instrument name of each stem file: `instruments.json` in `folder` ({file name or stem:
  name}), else a MedleyDB `*_METADATA.yaml` in `folder` or its parent (`stems.Sxx.filename` →
  `instrument`), else the file's stem. Raises DatasetError for an unreadable instruments.json."""
  given: dict[str, str] = {}
  listed = folder / "instruments.json"
  if listed.is_file():
    try:
      given = {str(k): str(v) for k, v in json.loads(listed.read_text()).items()}
    except (ValueError, AttributeError) as e:
      raise DatasetError(f"{listed}: need a JSON object {{file name: instrument}} ({e})") from e
  else:
    import yaml

    for meta in (*sorted(folder.glob("*_METADATA.yaml")),
                 *sorted(folder.parent.glob("*_METADATA.yaml"))):
      if meta.name.startswith("."):  # macOS `._x` twins
        continue
      try:
        entries = (yaml.safe_load(meta.read_text()) or {}).get("stems") or {}
      except (yaml.YAMLError, UnicodeDecodeError, AttributeError) as e:
        raise DatasetError(f"{meta}: not a MedleyDB METADATA.yaml ({e})") from e
      given = {str(e.get("filename", "")): str(e.get("instrument", "")) for e in entries.values()
               if isinstance(e, dict)}
      break
  return [given.get(f.name) or given.get(f.stem) or f.stem for f in stems]


def _text(value: Any) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)
