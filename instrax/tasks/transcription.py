"""Piano onset + velocity transcription (Onsets and Velocities, seed 002; seeds.md §2).

Training: a 5 s chunk (208 frames at the 24 ms hop) of a piece; targets on the model's T−1 output
frames (the first frame is dropped): the onset roll, each onset dilated forward to frames t..t+2
(running max), binarised, and the velocity roll = velocity / 127 on the same frames. Loss: mean
over the onset stages of BCE with pos_weight 8, + 10 × the element mean of BCE(velocity) masked
by the onset target (masked elements count as 0).

Evaluation: the whole piece in `eval_chunk_s` chunks overlapping by `eval_overlap_s`; per chunk
sigmoid of the LAST onset stage and of the velocities, left-padded by one frame, stitched by
trimming half the overlap at inner edges (the seed's `strided_inference`). Per piece, peaks are
decoded once (`metrics.transcription.detect`) and scored by mir_eval at every (threshold, shift)
of the grid; calibration picks the pair with the best MEAN per-piece onset F1 on validation;
metrics are means of per-piece P/R/F1 for onsets and onsets + velocity.

dB floor (`file_db_reference`, default on): the seed floors the log-mel at the WHOLE file's max
− 80 dB. The frontend then runs unfloored (`frontend.top_db=None`) and every model input carries
`ref_db`, the max dB of the file (`instrax.audio.file_db`), with which the model floors: a piece's
eval chunks and a predicted file's segments all share it. Training examples measure it on the
stored record (a 20 s segment of the piece, or the whole piece when records are whole).

Predict (`predict_inputs` / `merge_predictions`): the file is read twice in blocks (bounded
memory): once for its ref_db and length, then as segments owning `predict.segment_s` each (a
multiple of the hop, so all segments share the file's frame grid) plus `predict_context_s` of
audio on both sides; each segment keeps the notes whose peak frame it owns, offset by its start,
so a note on a segment boundary is found once.

Notes in examples: `notes_key` (N, ≥4) float rows [onset_s, offset_s, midi_pitch, velocity 1..127,
...] (the synthmix / maps / maestro `notes` feature); pitches outside 21..108 are ignored.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from instrax.audio import file_db
from instrax.data import room_augment
from instrax.errors import ConfigError
from instrax.metrics import transcription as tr
from instrax.tasks import transcription_plots
from instrax.tasks.base import TASKS, Example, Task, check_probabilities

KEYS = 88
_PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEY_NAMES = tuple(f"{_PITCH_CLASSES[m % 12]}{m // 12 - 1}" for m in range(21, 109))  # A0 .. C8
DEFAULT_THRESHOLD, DEFAULT_SHIFT_S = 0.74, -0.01  # the seed's headline pair, used uncalibrated
EXCERPT_S = 10.0  # seconds of piano roll kept per piece for the figures


def audio_of(example: Example, key: str = "audio") -> np.ndarray:
  """Mono float32 (T,) of an example: int16 PCM (T, C) / 32768 / `gain` (when stored), or float
  (T, C) / (T,) as is."""
  audio = np.asarray(example[key])
  if np.issubdtype(audio.dtype, np.integer):
    audio = audio.astype(np.float32) / np.float32(32768.0 * float(example.get("gain", 1.0)))
  else:
    audio = audio.astype(np.float32)
  return audio.mean(axis=1) if audio.ndim == 2 else audio


def onset_roll(notes: np.ndarray, first: int, frames: int, frame_s: float,
               dilation: int = 3) -> tuple[np.ndarray, np.ndarray]:
  """(frames, 88) onset and velocity rolls of frames [first, first + frames): a note with onset o
  sets frames floor(o / frame_s) .. + dilation − 1 (the seed's forward running max; the louder note
  wins where two overlap). Returns (onsets in {0, 1}, velocity / 127), float32."""
  vel = np.zeros((frames + dilation - 1, KEYS), np.float32)
  notes = np.asarray(notes, np.float64)
  if not notes.size:
    return np.zeros((frames, KEYS), np.float32), vel[dilation - 1:]
  keys = np.round(notes[:, 2]).astype(int) - 21
  start = np.floor(notes[:, 0] / frame_s).astype(int) - first + dilation - 1
  for d in range(dilation):
    ok = (keys >= 0) & (keys < KEYS) & (start + d >= 0) & (start + d < len(vel))
    np.maximum.at(vel, (start[ok] + d, keys[ok]), np.clip(notes[ok, 3], 1, 127) / 127)
  vel = vel[dilation - 1:]
  return (vel > 0).astype(np.float32), vel


def weighted_bce(logits: jax.Array, targets: jax.Array, pos_weight: float = 1.0) -> jax.Array:
  """Elementwise −[w·y·log σ(x) + (1 − y)·log(1 − σ(x))] (PyTorch BCEWithLogits pos_weight)."""
  return pos_weight * targets * jax.nn.softplus(-logits) + (1 - targets) * jax.nn.softplus(logits)


def stitch(chunks: np.ndarray, overlap: int, total: int) -> np.ndarray:
  """(n, L, ...) overlapping chunks (stride L − overlap) → (total, ...): half the overlap trimmed
  at every inner edge (seed `strided_inference`)."""
  half = overlap // 2
  n, length = chunks.shape[:2]
  parts = [c[(half if i else 0):(length - half if i < n - 1 else length)]
           for i, c in enumerate(chunks)]
  return np.concatenate(parts)[:total]


@TASKS.register("transcription")
@dataclasses.dataclass
class Transcription(Task):
  """Piano onset + velocity transcription over the 88 keys (MIDI 21..108)."""

  sample_rate: int = 16000
  channels: int = 1  # of the stored audio; the model hears the mono mixdown
  notes_key: str = "notes"
  chunk_frames: int = 208  # training chunk: 5 s at 24 ms
  onset_dilation: int = 3
  onset_stages: int = 3  # must equal the model's num_onset_stages (checked by target_spec)
  pos_weight: float = 8.0
  velocity_weight: float = 10.0
  eval_chunk_s: float = 60.0  # seed: 300 s
  eval_overlap_s: float = 11.0  # seed: 458 frames
  thresholds: tuple[float, ...] = tuple(np.round(np.arange(0.70, 0.805, 0.01), 3))
  shifts_s: tuple[float, ...] = (-0.01,)
  onset_tolerance_s: float = 0.05
  velocity_tolerance: float = 0.1
  blur_taps: int = 11
  blur_sigma: float = 1.0
  midi_note_s: float = 1.0  # MIDI out: a note lasts until the key's next onset, at most this
  file_db_reference: bool = True  # the model input `ref_db`: floor at the file's max − 80 dB
  predict_context_s: float = 0.0  # audio around each predict segment; 0: eval_overlap_s / 2
  room_augment: float = 0.0  # training: probability of each of EQ, reverb, noise, gain

  allow_specaugment = False
  allow_mixup = False
  frontend_inputs = ("audio",)
  frontend: Any = dataclasses.field(default=None, init=False, repr=False)

  def __post_init__(self):
    self.class_names = KEY_NAMES
    if self.chunk_frames < 4 or not self.thresholds or not self.shifts_s:
      raise ConfigError("task: chunk_frames must be ≥ 4 and thresholds / shifts_s non-empty")
    check_probabilities(self, "room_augment")
    if not 0 < self.eval_overlap_s < self.eval_chunk_s:
      raise ConfigError(f"task.eval_overlap_s={self.eval_overlap_s} must be in (0, eval_chunk_s="
                        f"{self.eval_chunk_s})")
    self.thresholds = tuple(float(t) for t in self.thresholds)
    self.shifts_s = tuple(float(s) for s in self.shifts_s)

  # ---- frontend-derived sizes -----------------------------------------------------------------
  def bind_frontend(self, info: Any) -> None:
    """The Experiment's FrontendInfo (or, in tests, a `Frontend` itself)."""
    if info.sample_rate != self.sample_rate:
      raise ConfigError(f"task.sample_rate={self.sample_rate} but the frontend runs at "
                        f"{info.sample_rate} Hz; make them equal.")
    features = getattr(info, "features", None) or info
    if self.file_db_reference and getattr(features, "top_db", None) is not None:
      raise ConfigError("task.file_db_reference floors the log-mel at the file's max − 80 dB in "
                        "the model; set --config.frontend.top_db=None (or "
                        "--config.task.file_db_reference=False for a per-chunk floor)")
    self.frontend = info
    self._features = features

  def ref_db(self, audio: np.ndarray) -> np.float32:
    """The max dB of the frontend's features over a whole (T,) mono signal (`file_db`)."""
    info = self._info()
    return np.float32(file_db.file_max_db(self._features, audio, self.hop,
                                          int(getattr(info, "n_fft", 0)) or 2048))

  def _max_db(self) -> file_db.MaxDb:
    return file_db.MaxDb(self._features, self.hop, int(getattr(self._info(), "n_fft", 0)) or 2048)

  def _info(self) -> Any:
    if self.frontend is None:
      raise ConfigError("transcription task used before bind_frontend(frontend info)")
    return self.frontend

  @property
  def hop(self) -> int:
    return int(self._info().hop_length)

  @property
  def frame_s(self) -> float:
    return self.hop / self.sample_rate

  def _samples(self, frames: int) -> int:
    """Samples whose centred STFT has exactly `frames` frames: (frames − 1)·hop."""
    return (frames - 1) * self.hop

  @property
  def eval_chunk_frames(self) -> int:
    return max(4, round(self.eval_chunk_s / self.frame_s))

  @property
  def eval_overlap_frames(self) -> int:
    return 2 * max(1, round(self.eval_overlap_s / self.frame_s / 2))  # even, as the seed

  # ---- what the model sees --------------------------------------------------------------------
  def features(self) -> tuple[str, ...]:
    return ("audio", self.notes_key)

  def input_spec(self) -> dict[str, jax.ShapeDtypeStruct]:
    spec = {"audio": jax.ShapeDtypeStruct((1, self._samples(self.chunk_frames)), jnp.float32)}
    if self.file_db_reference:
      spec["ref_db"] = jax.ShapeDtypeStruct((), jnp.float32)
    return spec

  def model_kwargs(self) -> dict[str, Any]:
    return {"num_classes": KEYS}

  def target_spec(self) -> dict[str, Any]:
    frames = self._info().num_frames(self.input_spec()["audio"].shape[-1]) - 1
    return {"onsets": jax.ShapeDtypeStruct((1, self.onset_stages, frames, KEYS), jnp.float32),
            "velocity": jax.ShapeDtypeStruct((1, frames, KEYS), jnp.float32)}

  # ---- training -------------------------------------------------------------------------------
  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    """A `chunk_frames` crop of the record, with targets; `room_augment` > 0 first passes the
    whole record through `instrax.data.room_augment` (so `ref_db` is the augmented record's)."""
    audio = room_augment.room_augment(audio_of(example), self.sample_rate, rng, self.room_augment)
    total = len(audio) // self.hop + 1
    first = int(rng.integers(0, max(0, total - self.chunk_frames) + 1))
    n = self._samples(self.chunk_frames)
    crop = audio[first * self.hop:first * self.hop + n]
    crop = np.pad(crop, (0, n - len(crop)))[None]
    onsets, velocity = onset_roll(example[self.notes_key], first, self.chunk_frames, self.frame_s,
                                  self.onset_dilation)
    out = {"audio": np.ascontiguousarray(crop, np.float32),
           "targets": {"onsets": onsets[1:], "velocity": velocity[1:]}}
    if self.file_db_reference:
      out["ref_db"] = self.ref_db(audio)
    return out

  def loss(self, outputs: dict[str, jax.Array], batch: Example) -> tuple[jax.Array, dict]:
    """Seed loss; outputs {"onsets": (B, S, T−1, 88), "velocity": (B, T−1, 88)} logits."""
    onsets, velocity = batch["targets"]["onsets"], batch["targets"]["velocity"]
    onset_loss = weighted_bce(outputs["onsets"], onsets[:, None], self.pos_weight).mean()
    velocity_loss = (weighted_bce(outputs["velocity"], velocity) * onsets).mean()
    loss = onset_loss + self.velocity_weight * velocity_loss
    return loss, {"onset_loss": onset_loss, "velocity_loss": velocity_loss}

  # ---- evaluation -----------------------------------------------------------------------------
  def eval_inputs(self, example: Example) -> dict[str, np.ndarray]:
    """{"audio": (n_chunks, 1, (L − 1)·hop)} chunks of L = eval_chunk_frames frames, stride
    L − overlap frames, covering every frame of the piece (the last chunk zero-padded)."""
    audio = audio_of(example)
    total = len(audio) // self.hop + 1
    length, stride = self.eval_chunk_frames, self.eval_chunk_frames - self.eval_overlap_frames
    n_chunks = 1 if total <= length else 1 + -(-(total - length) // stride)
    n = self._samples(length)
    padded = np.pad(audio, (0, max(0, (n_chunks - 1) * stride * self.hop + n - len(audio))))
    chunks = np.stack([padded[c * stride * self.hop:c * stride * self.hop + n]
                       for c in range(n_chunks)])
    out = {"audio": chunks[:, None].astype(np.float32)}
    if self.file_db_reference:
      ref = example["ref_db"] if "ref_db" in example else self.ref_db(audio)
      out["ref_db"] = np.full(n_chunks, ref, np.float32)
    return out

  def combine(self, outputs: dict[str, np.ndarray], example: Example) -> dict[str, np.ndarray]:
    """Chunk logits → {"onsets", "velocity"}: (frames, 88) float32 probabilities of the piece."""
    total = len(audio_of(example)) // self.hop + 1
    out = {}
    for name, logits in (("onsets", np.asarray(outputs["onsets"])[:, -1]),
                         ("velocity", np.asarray(outputs["velocity"]))):
      probs = special.expit(logits.astype(np.float32))
      probs = np.pad(probs, ((0, 0), (1, 0), (0, 0)))  # left-pad: output t ↔ frame t
      out[name] = stitch(probs, self.eval_overlap_frames, total)
    if "keep_frames" in example:  # a predict segment: the frames whose notes it owns
      out["keep_frames"] = np.asarray(example["keep_frames"])
    return out

  def _reference(self, example: Example) -> np.ndarray:
    notes = np.asarray(example[self.notes_key], np.float64)
    return notes[(notes[:, 2] >= 21) & (notes[:, 2] <= 108)] if notes.size else notes.reshape(0, 4)

  def reference(self, example: Example) -> np.ndarray:
    """Old spine interface (until #8 lands): the piece's reference notes."""
    return self._reference(example)

  def _detect(self, combined: dict[str, np.ndarray], min_threshold: float) -> tr.Peaks:
    return tr.detect(combined["onsets"], combined["velocity"], min_threshold, self.blur_taps,
                     self.blur_sigma)

  def example_stats(self, combined: dict[str, np.ndarray], example: Example) -> dict[str, Any]:
    """{"grid": (thresholds, shifts, 6) per-piece scores, "excerpt": first EXCERPT_S of the
    predicted onset probabilities and target roll (float16), "name", "num_notes"}."""
    reference = self._reference(example)
    found = self._detect(combined, min(self.thresholds))
    grid = tr.grid_scores(reference, found, np.array(self.thresholds), np.array(self.shifts_s),
                          self.frame_s, onset_tolerance=self.onset_tolerance_s,
                          velocity_tolerance=self.velocity_tolerance)
    frames = min(len(combined["onsets"]), round(EXCERPT_S / self.frame_s))
    target, _ = onset_roll(reference, 0, frames, self.frame_s, dilation=1)
    name = example.get("id", b"")
    return {"grid": grid, "num_notes": len(reference),
            "name": name.decode() if isinstance(name, bytes) else str(name),
            "excerpt": {"prediction": combined["onsets"][:frames].astype(np.float16),
                        "target": target.astype(np.float16)}}

  def calibrate(self, stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The (threshold, shift) with the best mean per-piece onset F1, and the threshold curve."""
    i, j = tr.best_grid_point([s["grid"] for s in stats])
    mean_f1 = np.mean([s["grid"][:, j, 2] for s in stats], axis=0)
    return {"threshold": self.thresholds[i], "shift_s": self.shifts_s[j],
            "sweep": [[t, float(f)] for t, f in zip(self.thresholds, mean_f1)]}

  def _grid_index(self, calibration: dict[str, Any]) -> tuple[int, int]:
    """Grid indices of the calibrated pair; uncalibrated, the grid points nearest the seed's."""
    if not calibration:
      return (int(np.argmin(np.abs(np.array(self.thresholds) - DEFAULT_THRESHOLD))),
              int(np.argmin(np.abs(np.array(self.shifts_s) - DEFAULT_SHIFT_S))))
    i = np.flatnonzero(np.isclose(self.thresholds, calibration["threshold"]))
    j = np.flatnonzero(np.isclose(self.shifts_s, calibration["shift_s"]))
    if not (len(i) and len(j)):
      raise ConfigError(f"calibration threshold {calibration['threshold']} / shift "
                        f"{calibration['shift_s']} is not on task.thresholds / task.shifts_s")
    return int(i[0]), int(j[0])

  def metrics(self, stats: list[dict[str, Any]], calibration: dict[str, Any]) -> dict[str, float]:
    """Means over pieces of P/R/F1 for onsets and onsets + velocity at the calibrated point."""
    if not stats:
      return {}
    i, j = self._grid_index(calibration)
    mean = np.mean([s["grid"][i, j] for s in stats], axis=0)
    names = ("onset_precision", "onset_recall", "onset_f1", "onset_velocity_precision",
             "onset_velocity_recall", "onset_velocity_f1")
    return {n: float(v) for n, v in zip(names, mean)} | {
        "threshold": self.thresholds[i], "shift_s": self.shifts_s[j],
        "pieces": float(len(stats))}

  def summaries(self, stats: list[dict[str, Any]], calibration: dict[str, Any]) -> dict[str, Any]:
    if not stats:
      return {}
    _, j = self._grid_index(calibration)
    curves = np.mean([s["grid"][:, j] for s in stats], axis=0)
    return {"piano_roll": transcription_plots.roll_figure(stats[0], self.frame_s),
            "threshold_curve": transcription_plots.threshold_figure(
                np.array(self.thresholds), curves, calibration.get("threshold"))}

  def table(self, metrics: dict[str, float]) -> str:
    rows = [f"{'':<18} {'P':>6} {'R':>6} {'F1':>6}"]
    for label, key in (("onsets", "onset"), ("onsets+velocity", "onset_velocity")):
      if f"{key}_f1" in metrics:
        rows.append(f"{label:<18} {metrics[f'{key}_precision']:6.3f} "
                    f"{metrics[f'{key}_recall']:6.3f} {metrics[f'{key}_f1']:6.3f}")
    return "\n".join(rows)

  # ---- predict --------------------------------------------------------------------------------
  def predict_inputs(self, path: str, sample_rate: int, channels: int,
                     segment_s: float) -> Iterator[tuple[float, Example]]:
    """The file as overlapping segments (see the module doc): (start_s, {"audio" (T, C),
    "ref_db", "keep_frames" (2,) the [first, stop) segment frames it owns})."""
    from instrax.audio import io

    acc, samples = self._max_db(), 0
    for block in io.stream(path, sample_rate, channels, segment_s):
      acc.add(block.mean(axis=0))
      samples += block.shape[1]
    ref = np.float32(acc.result())
    context_s = self.predict_context_s or self.eval_overlap_s / 2
    layout = predict_segments(samples, self.hop, max(1, round(segment_s / self.frame_s)),
                              int(np.ceil(context_s / self.frame_s)))
    buf, buf_start = np.zeros((channels, 0), np.float32), 0
    blocks = io.stream(path, sample_rate, channels, segment_s)
    for i, (start, stop, keep) in enumerate(layout):
      while buf_start + buf.shape[1] < stop:
        buf = np.concatenate([buf, next(blocks)], axis=1)
      audio = buf[:, start - buf_start:stop - buf_start]
      yield start / sample_rate, {"audio": audio.T, "ref_db": ref, "keep_frames": keep}
      following = layout[i + 1][0] if i + 1 < len(layout) else stop  # starts never go back
      buf, buf_start = buf[:, following - buf_start:], following

  def _notes(self, combined: dict[str, np.ndarray], threshold: float) -> np.ndarray:
    """(N, 3) [frame, key index, velocity 0..1] of the notes a combined output owns."""
    found = self._detect(combined, threshold)
    keep = found.prob >= threshold
    lo, hi = combined.get("keep_frames", (0, len(combined["onsets"])))
    keep &= (found.frame >= lo) & (found.frame < hi)
    return np.column_stack([found.frame[keep], found.key[keep], found.velocity[keep]])

  def merge_predictions(self, parts: list[tuple[float, Any]],
                        calibration: dict[str, Any]) -> dict[str, Any]:
    """{"notes": [{"onset_s", "key" (MIDI), "velocity" (1..127)}] sorted by onset then key,
    "threshold", "shift_s"}: each part's owned notes offset by its start."""
    threshold = float(calibration.get("threshold", DEFAULT_THRESHOLD))
    shift = float(calibration.get("shift_s", DEFAULT_SHIFT_S))
    rows = []
    for start_s, combined in parts:
      n = self._notes(combined, threshold)
      rows.append(np.column_stack([start_s + n[:, 0] * self.frame_s + shift,
                                   n[:, 1] + tr.LOWEST_KEY, n[:, 2]]))
    notes = np.concatenate(rows) if rows else np.zeros((0, 3))
    notes = notes[np.lexsort((notes[:, 1], notes[:, 0]))]
    return {"notes": [{"onset_s": round(max(0.0, o), 4), "key": int(k),
                       "velocity": int(np.clip(round(v * 127), 1, 127))} for o, k, v in notes],
            "threshold": threshold, "shift_s": shift}

  def predict(self, combined: dict[str, np.ndarray], calibration: dict[str, Any]
              ) -> dict[str, Any]:
    """The prediction of one whole input (`merge_predictions` of one part at 0 s)."""
    return self.merge_predictions([(0.0, combined)], calibration)

  def write_prediction(self, prediction: dict[str, Any], stem: str, output_dir: str) -> list[str]:
    """`<stem>.mid` (piano, pretty_midi) and `<stem>.csv` (onset_s, key, velocity)."""
    import pretty_midi

    os.makedirs(output_dir, exist_ok=True)
    notes = prediction["notes"]
    csv_path = os.path.join(output_dir, f"{stem}.csv")
    with open(csv_path, "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=["onset_s", "key", "velocity"])
      writer.writeheader()
      writer.writerows(notes)
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0, name="piano")
    next_onset: dict[int, float] = {}
    for n in reversed(notes):  # each note ends at its key's next onset, at most midi_note_s
      end = min(n["onset_s"] + self.midi_note_s, next_onset.get(n["key"], np.inf))
      end = max(end, n["onset_s"] + 0.01)
      piano.notes.append(pretty_midi.Note(n["velocity"], n["key"], n["onset_s"], end))
      next_onset[n["key"]] = n["onset_s"]
    piano.notes.reverse()
    midi.instruments.append(piano)
    midi_path = os.path.join(output_dir, f"{stem}.mid")
    midi.write(midi_path)
    return [midi_path, csv_path]


def predict_segments(samples: int, hop: int, step: int, context: int
                     ) -> list[tuple[int, int, np.ndarray]]:
  """How predict cuts a file of `samples` samples: [(start, stop) samples, keep_frames (2,)], one
  per `step` frames owned, with `context` frames of audio on each side where the file has them.
  Starts are multiples of `hop`, so segment frame j is file frame start / hop + j; the owned frames
  of all segments tile the file's `samples // hop + 1` frames exactly once."""
  frames = samples // hop + 1
  out = []
  for own in range(0, frames, step):
    first = max(0, own - context)
    stop = min(samples, (own + step + context) * hop)
    out.append((first * hop, stop, np.array([own - first, min(frames, own + step) - first])))
  return out
