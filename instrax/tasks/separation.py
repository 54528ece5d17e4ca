"""Music source separation by spectrogram masking (MSSPT's separator, seeds.md §3.2–3.3).

The model (`unet_separator`) maps the mixture's log magnitude (frontend `msspt_stft`: uncentred
STFT 512/160 at 16 kHz, Nyquist dropped, log10(|X| + 1e-4)) to masks (B, S, F, frames) in
[0, 1]. Inside the jitted loss, each mask multiplies the mixture's complex STFT bins below
Nyquist (mask × magnitude with the mixture phase), the mixture's Nyquist bin is re-appended
unmasked, the inverse STFT gives waveforms (B, S, L), and the loss is their mean absolute error
against the true sources (MSSPT: MAE on waveforms). Training crops are `segment_samples` long
(61,792 = 384 frames).

Sources come from the dataset as one int16 (T, C) feature per source (`stems_format="named"`,
musdb18: vocals, drums, bass, other) or as synthmix's int16 (K, T) `stems` with their GM
`programs` (`"gm"`: vocals = GM 52-54, bass = 32-39, drums = 128, other = everything else).
Everything is downmixed to mono, as upstream.

Remixing (`remix=True`, MSSPT `train_separator.py`): each training example is mixed from random
crops of different songs (the example plus `extra_examples` others): one source: 2 crops of it
plus the accompaniments (mixture − source) of 2 more songs, target = the 2 sources' sum;
several sources: 2 crops each except 1 of the last (seed order vocals, other, drums, bass:
2 + 2 + 2 + 1 songs), target i = the sum of source i's crops.

Evaluation: the whole track in chunks of `segment_samples` overlapping by `eval_overlap`, masks
applied per chunk, chunks overlap-added with triangular weights (normalised by their sum).
Per track: SDR (BSSEval v4, 1-s frames, median; `instrax.metrics.separation`) and SI-SDR per
source; metrics are their medians over tracks, and `sdr` their mean over sources.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from instrax.errors import ConfigError
from instrax.metrics import separation as sep_metrics
from instrax.tasks.base import TASKS, Example, Task

MUSDB_SOURCES = ("vocals", "other", "drums", "bass")  # MSSPT multisource mask order
STEMS_FORMATS = ("named", "gm")
GM_VOCALS = (52, 53, 54)
GM_BASS = tuple(range(32, 40))
GM_DRUMS = 128
SEGMENT = 61_792  # MSSPT: 384 frames of the uncentred 512/160 STFT


def to_mono(audio: np.ndarray, channel_axis: int = -1) -> np.ndarray:
  """int16 PCM or float audio with channels on `channel_axis` → float32 (T,) mono (mean)."""
  x = np.asarray(audio)
  x = x.astype(np.float32) / 32768.0 if np.issubdtype(x.dtype, np.integer) else x.astype(np.float32)
  return x.mean(axis=channel_axis) if x.ndim == 2 else x


def gm_group(program: int) -> str:
  """The musdb source a General-MIDI program plays (128 = drum kit)."""
  if program == GM_DRUMS:
    return "drums"
  if program in GM_BASS:
    return "bass"
  if program in GM_VOCALS:
    return "vocals"
  return "other"


def remix_counts(num_sources: int) -> tuple[int, ...]:
  """Crops (songs) per source in a remix: 2 each, the last source 1 (MSSPT multisource)."""
  return (2,) * (num_sources - 1) + (1,) if num_sources > 1 else (2,)


def remix(segments: list[dict[str, np.ndarray]], sources: tuple[str, ...]
          ) -> tuple[np.ndarray, np.ndarray]:
  """MSSPT's remix of crops of different songs → (mixture (L,), targets (S, L)), float32.

  Args:
    segments: per song a dict of equal-length (L,) float32 crops: "mixture" and each source.
      One source: needs 4 songs: the source of songs 0-1 and the accompaniment (mixture −
      source) of songs 2-3. Several: `remix_counts` songs per source, consumed in order.
    sources: the target source names.
  Raises:
    ValueError: too few segments.
  """
  if len(sources) == 1:
    need = 4
  else:
    need = sum(remix_counts(len(sources)))
  if len(segments) < need:
    raise ValueError(f"remix of {sources} needs {need} songs, got {len(segments)}")
  if len(sources) == 1:
    (name,) = sources
    target = segments[0][name] + segments[1][name]
    accompaniment = sum(s["mixture"] - s[name] for s in segments[2:4])
    return (target + accompaniment).astype(np.float32), target[None].astype(np.float32)
  targets, k = [], 0
  for name, count in zip(sources, remix_counts(len(sources))):
    targets.append(sum(s[name] for s in segments[k:k + count]))
    k += count
  targets = np.stack(targets).astype(np.float32)
  return targets.sum(0), targets


def apply_masks(masks: jax.Array, mixture_spec: jax.Array, length: int, istft) -> jax.Array:
  """Masked mixture STFT → waveforms (jnp; runs inside jit and on host).

  Args:
    masks: (..., S, F, frames) in [0, 1], F = bins below Nyquist.
    mixture_spec: complex (..., 1, frames, F + 1) STFT of the mono mixture (Nyquist kept).
    length: output samples.
    istft: (complex spec, length) → audio, the inverse of the STFT that made mixture_spec.
  Returns:
    (..., S, length) float32: mask × |X| with the mixture phase below Nyquist, the mixture's
    Nyquist bin unmasked.
  """
  bins = mixture_spec.shape[-1] - 1
  if masks.shape[-2] != bins or masks.shape[-1] != mixture_spec.shape[-2]:
    raise ConfigError(f"masks (…, F={masks.shape[-2]}, frames={masks.shape[-1]}) do not match "
                      f"the mixture STFT ({mixture_spec.shape[-2]} frames, {bins} bins + "
                      "Nyquist); use the msspt_stft frontend (drop_nyquist)")
  m = jnp.swapaxes(masks, -1, -2).astype(jnp.float32)
  low = m * mixture_spec[..., :bins]
  nyquist = jnp.broadcast_to(mixture_spec[..., bins:], (*low.shape[:-1], 1))
  return istft(jnp.concatenate([low, nyquist], axis=-1), length)


def overlap_add(chunks: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
  """(n, S, L) chunks starting at `starts` → (S, length), triangular weights / their sum."""
  _, s, size = chunks.shape
  ramp = np.minimum(np.arange(1, size + 1), np.arange(size, 0, -1)).astype(np.float64)
  out = np.zeros((s, max(length, int(starts[-1]) + size)))
  weight = np.zeros(out.shape[1])
  for chunk, start in zip(chunks, starts):
    out[:, start:start + size] += chunk * ramp
    weight[start:start + size] += ramp
  return (out / np.maximum(weight, 1e-12))[:, :length].astype(np.float32)


def chunk_starts(length: int, size: int, overlap: float) -> np.ndarray:
  """Starts of `size`-sample chunks hopping size·(1 − overlap) until one reaches `length`."""
  hop = max(1, round(size * (1.0 - overlap)))
  n = 1 + max(0, -(-(length - size) // hop))
  return np.arange(n) * hop


@TASKS.register("separation")
@dataclasses.dataclass
class Separation(Task):
  """Mask-based separation of `sources` from mono mixtures (see the module docstring).

  Attributes:
    sample_rate, channels: the dataset's audio format (the model input is mono).
    sources: target names, e.g. ("vocals",) or MUSDB_SOURCES (multisource).
    stems_format: "named" (a feature per source) or "gm" (synthmix stems + programs).
    segment_samples: training crop and evaluation chunk, samples (MSSPT 61,792 at 16 kHz).
    remix: train on remixes of different songs (MSSPT), else on the songs' own crops.
    eval_overlap: overlap of evaluation chunks in [0, 1).
    sdr_window_s: BSSEval v4 frame (museval: 1 s).
    audio_summary_s: seconds of mixture and estimates kept per track for audio summaries.
  """

  sample_rate: int
  channels: int
  sources: tuple[str, ...] = ("vocals",)
  stems_format: str = "named"
  segment_samples: int = SEGMENT
  remix: bool = True
  eval_overlap: float = 0.5
  sdr_window_s: float = 1.0
  audio_summary_s: float = 5.0

  allow_specaugment = False
  allow_mixup = False
  needs_output_dir = True  # predict writes the stems as WAV files (instrax/predict.py)

  def __post_init__(self):
    self.sources = tuple(self.sources)
    if self.stems_format not in STEMS_FORMATS:
      raise ConfigError(f"task.stems_format {self.stems_format!r}; valid: "
                        f"{', '.join(STEMS_FORMATS)}")
    unknown = [s for s in self.sources if s not in MUSDB_SOURCES]
    if not self.sources or unknown or len(set(self.sources)) != len(self.sources):
      raise ConfigError(f"task.sources {self.sources}: name 1-4 distinct sources of "
                        f"{', '.join(MUSDB_SOURCES)}")
    if not 0.0 <= self.eval_overlap < 1.0:
      raise ConfigError(f"task.eval_overlap must be in [0, 1), got {self.eval_overlap}")
    if self.segment_samples < 1 or not self.sample_rate:
      raise ConfigError("task.segment_samples must be ≥ 1 and the dataset must have audio")
    self.class_names = self.sources

  # --- what the model sees -------------------------------------------------------------------
  @property
  def extra_examples(self) -> int:  # other songs per training example (remixing)
    if not self.remix:
      return 0
    return 3 if len(self.sources) == 1 else sum(remix_counts(len(self.sources))) - 1

  def features(self) -> tuple[str, ...]:
    if self.stems_format == "gm":
      return ("audio", "stems", "programs")
    return ("audio", *self.sources)

  def input_shape(self) -> tuple[int, ...]:
    return (1, self.segment_samples)

  def target_spec(self) -> Any:
    """(1, S, F, frames) float32 masks, from the bound frontend's STFT (None before binding)."""
    if getattr(self, "frontend", None) is None or self.frontend.stft is None:
      return None
    spec = jax.eval_shape(self.frontend.stft,
                          jax.ShapeDtypeStruct((1, 1, self.segment_samples), jnp.float32))
    return jax.ShapeDtypeStruct((1, len(self.sources), spec.shape[-1] - 1, spec.shape[-2]),
                                jnp.float32)

  def signals(self, example: Example) -> dict[str, np.ndarray]:
    """{"mixture", *sources}: float32 (T,) mono signals of one dataset example."""
    out = {"mixture": to_mono(example["audio"])}
    if self.stems_format == "named":
      for name in self.sources:
        if name not in example:
          raise ConfigError(f"the dataset has no {name!r} feature; set task.stems_format='gm' "
                            "for synthmix, or build a dataset with per-source audio (musdb18)")
        out[name] = to_mono(example[name])
      return out
    stems = np.asarray(example["stems"])
    stems = stems.astype(np.float32) / 32768.0 if np.issubdtype(stems.dtype, np.integer) else stems
    groups = [gm_group(int(p)) for p in np.asarray(example["programs"])]
    for name in self.sources:
      rows = [i for i, g in enumerate(groups) if g == name]
      out[name] = stems[rows].sum(0).astype(np.float32) if rows else np.zeros_like(out["mixture"])
    return out

  def crop(self, example: Example, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`signals` cut at one random offset to `segment_samples` (zero-padded when shorter)."""
    sig = self.signals(example)
    total, size = sig["mixture"].shape[0], self.segment_samples
    start = int(rng.integers(0, total - size + 1)) if total > size else 0
    return {k: np.pad(v[start:start + size], (0, max(0, size - (v.shape[0] - start))))[:size]
            for k, v in sig.items()}

  # --- training ------------------------------------------------------------------------------
  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    """{"audio": (1, L) mixture, "targets": (S, L) sources}; remixed from `example["extra"]`."""
    if self.remix:
      extra = list(example.get("extra") or [])
      if len(extra) < self.extra_examples:
        raise ConfigError(f"separation remix needs {self.extra_examples} extra examples per "
                          f"training example, got {len(extra)}")
      segments = [self.crop(ex, rng) for ex in [example, *extra[:self.extra_examples]]]
      mixture, targets = remix(segments, self.sources)
    else:
      seg = self.crop(example, rng)
      mixture, targets = seg["mixture"], np.stack([seg[s] for s in self.sources])
    return {"audio": np.ascontiguousarray(mixture[None], np.float32),
            "targets": np.ascontiguousarray(targets, np.float32)}

  def _require_frontend(self):
    if getattr(self, "frontend", None) is None or self.frontend.stft is None:
      raise ConfigError("the separation task needs an STFT frontend (msspt_stft)")
    return self.frontend

  def estimates(self, masks: jax.Array, audio: jax.Array) -> jax.Array:
    """Masks (B, S, F, frames) and mixtures (B, 1, L) → estimated sources (B, S, L)."""
    fe = self._require_frontend()
    return apply_masks(masks, fe.stft(audio), audio.shape[-1], fe.istft)

  def loss(self, outputs: jax.Array, batch: Example) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean absolute waveform error (MSSPT), per-source MAE as auxiliaries."""
    err = jnp.abs(self.estimates(outputs, batch["audio"]) - batch["targets"])
    per_source = err.mean(axis=(0, 2))
    return err.mean(), {f"mae/{s}": per_source[i] for i, s in enumerate(self.sources)}

  # --- evaluation ----------------------------------------------------------------------------
  def _chunks(self, mixture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = chunk_starts(mixture.shape[0], self.segment_samples, self.eval_overlap)
    padded = np.pad(mixture, (0, int(starts[-1]) + self.segment_samples - mixture.shape[0]))
    idx = starts[:, None] + np.arange(self.segment_samples)[None]
    return padded[idx][:, None].astype(np.float32), starts

  def eval_inputs(self, example: Example) -> np.ndarray:
    """(n_chunks, 1, segment_samples) overlapping chunks of the mono mixture (end zero-padded)."""
    return self._chunks(to_mono(example["audio"]))[0]

  def combine(self, outputs: np.ndarray, example: Example) -> np.ndarray:
    """Chunk masks (n, S, F, frames) → the whole track's estimates (S, T) float32."""
    mixture = to_mono(example["audio"])
    chunks, starts = self._chunks(mixture)
    est = np.asarray(jax.device_get(self.estimates(jnp.asarray(outputs), jnp.asarray(chunks))))
    return overlap_add(est, starts, mixture.shape[0])

  def reference(self, example: Example) -> np.ndarray:
    """(S, T) float32 true sources of one track."""
    sig = self.signals(example)
    return np.stack([sig[s] for s in self.sources])

  def example_stats(self, combined: np.ndarray, example: Example) -> dict[str, Any]:
    """Per source SDR and SI-SDR of one track, and a short int16 excerpt for audio summaries."""
    ref = self.reference(example)
    window = max(1, round(self.sdr_window_s * self.sample_rate))
    keep = round(self.audio_summary_s * self.sample_rate)
    excerpt = np.concatenate([to_mono(example["audio"])[None], combined])[:, :keep]
    return {"sdr": sep_metrics.track_sdr(ref, combined, window),
            "si_sdr": np.array([sep_metrics.si_sdr(r, e) for r, e in zip(ref, combined)]),
            "excerpt": np.clip(np.round(excerpt * 32767), -32768, 32767).astype(np.int16)}

  def metric_names(self) -> tuple[str, ...]:
    return ("sdr", *(f"{m}/{s}" for m in ("sdr", "si_sdr") for s in self.sources))

  def metrics(self, stats: list[dict[str, Any]], calibration: dict[str, Any]
              ) -> dict[str, float]:
    """Median over tracks of each source's SDR / SI-SDR; `sdr` = their mean over sources."""
    del calibration
    if not stats:
      raise ValueError("no tracks to score")
    out = {}
    for m in ("sdr", "si_sdr"):
      values = np.stack([s[m] for s in stats])
      for j, name in enumerate(self.sources):
        out[f"{m}/{name}"] = sep_metrics.median_over_tracks(values[:, j])
    medians = [out[f"sdr/{s}"] for s in self.sources]
    out["sdr"] = float(np.nanmean(medians)) if not np.all(np.isnan(medians)) else float("nan")
    return out

  def audio_summaries(self, stats: list[dict[str, Any]], calibration: dict[str, Any]
                      ) -> dict[str, tuple[np.ndarray, int]]:
    """The first track's excerpt: the mixture and each estimated source."""
    del calibration
    if not stats or not stats[0]["excerpt"].size:
      return {}
    pcm = stats[0]["excerpt"].astype(np.float32) / 32768.0
    return {name: (pcm[i], self.sample_rate)
            for i, name in enumerate(("mixture", *self.sources))}

  def table(self, metrics: dict[str, float]) -> str:
    """Per-source median SDR and SI-SDR (dB) over the split's tracks."""
    rows = [f"{'source':<8} {'SDR':>7} {'SI-SDR':>7}"]
    for s in self.sources:
      rows.append(f"{s:<8} {metrics.get(f'sdr/{s}', float('nan')):7.2f} "
                  f"{metrics.get(f'si_sdr/{s}', float('nan')):7.2f}")
    rows.append(f"{'mean':<8} {metrics.get('sdr', float('nan')):7.2f}")
    return "\n".join(rows)

  # --- predict -------------------------------------------------------------------------------
  def merge_predictions(self, parts: list[tuple[float, Any]],
                        calibration: dict[str, Any]) -> dict[str, Any]:
    """Segments' (S, T_k) estimates joined along time."""
    return self.predict(np.concatenate([c for _, c in parts], axis=-1), calibration)

  def predict(self, combined: np.ndarray, calibration: dict[str, Any]) -> dict[str, Any]:
    """{"sources", "sample_rate", "duration_s", "rms_dbfs" per source, "stems": name → (T,)
    float32}; `write_prediction` replaces the "stems" audio by the WAV paths it writes, so the
    JSON/CSV the CLI writes holds paths, never raw audio."""
    del calibration
    rms = np.sqrt(np.mean(np.square(combined, dtype=np.float64), axis=1))
    return {"sources": list(self.sources), "sample_rate": self.sample_rate,
            "duration_s": combined.shape[1] / self.sample_rate,
            "rms_dbfs": {s: float(20 * np.log10(max(r, 1e-10))) for s, r in
                         zip(self.sources, rms)},
            "stems": {s: np.asarray(combined[i], np.float32) for i, s in enumerate(self.sources)}}

  def write_prediction(self, prediction: dict[str, Any], stem: str, output_dir: str) -> list[str]:
    """Writes `<output_dir>/<stem>/<source>.wav` (16-bit PCM, clipped) per source and replaces
    `prediction["stems"]` (audio) by {source: path} in place; returns the paths."""
    import soundfile as sf

    folder = os.path.join(output_dir, stem)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, audio in prediction["stems"].items():
      path = os.path.join(folder, f"{name}.wav")
      sf.write(path, np.clip(audio, -1.0, 1.0 - 1 / 32768), prediction["sample_rate"],
               subtype="PCM_16")
      paths.append(path)
    prediction["stems"] = dict(zip(prediction["stems"], paths))
    return paths
