"""Seed 004's PyTorch training pipeline for IRMAS, as its notebook runs it (bench/bench_epoch.py).

shared/seeds/004 (project.ipynb), cells `IRMASDataset`, `mel_frequency_transform`,
`one_hot_transform` and the model-1 DataLoader: a `Dataset` whose `__getitem__` loads the wav with
`librosa.load(sr=None, mono=True)` (native 44.1 kHz, downmixed), divides by `wave.max()`, computes
`librosa.feature.melspectrogram(sr, n_fft=4096, n_mels=224)` (hop 512, power 2, Slaney) and
`power_to_db(ref=np.max)` (top_db 80), keeps frames [1:257] → (1, 224, 256) (torchvision's
`ToTensor` adds the channel axis; done here with `[None]`), and returns the one-hot label of the
file's folder. Uncached: the notebook's `cache=True` only helps from the second epoch, and a
cache of every clip's mel is not what the instrax pipeline keeps either. Training: seed model,
`BCEWithLogitsLoss`, Adam(1e-3), a plain loop (the notebook wraps it in PyTorch Lightning, which
would only add overhead).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

SAMPLE_RATE, N_FFT, N_MELS, FRAMES = 44100, 4096, 224, (1, 257)


def seed_mel(path: str | Path) -> np.ndarray:
  """(1, 224, 256) float32 dB log-mel of a wav file, exactly as seed 004 computes it."""
  wave, rate = librosa.load(path, sr=None, mono=True)
  wave = wave / wave.max()
  mel = librosa.feature.melspectrogram(y=wave, sr=rate, n_fft=N_FFT, n_mels=N_MELS)
  return librosa.power_to_db(mel, ref=np.max)[None, :, FRAMES[0]:FRAMES[1]].astype(np.float32)


class SeedIrmasDataset(Dataset):
  """Files and their (11,) one-hot targets → (mel (1, 224, 256), target) per `__getitem__`."""

  def __init__(self, paths: Sequence[str | Path], targets: np.ndarray):
    self.paths, self.targets = list(paths), np.asarray(targets, np.float32)

  def __len__(self) -> int:
    return len(self.paths)

  def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(seed_mel(self.paths[idx])), torch.from_numpy(self.targets[idx])


class SeedEpoch:
  """One training epoch of `model` over the files per `run()`: a fresh DataLoader (shuffled,
  `workers` processes, `prefetch_factor` 6, the last partial batch dropped), BCE, Adam 1e-3."""

  def __init__(self, model: torch.nn.Module, paths: Sequence[str | Path], targets: np.ndarray,
               batch: int, workers: int = 2):
    self.model = model.train()
    self.dataset = SeedIrmasDataset(paths, targets)
    self.batch, self.workers = batch, workers
    self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    self.loss_fn = torch.nn.BCEWithLogitsLoss()

  def loader(self) -> DataLoader:
    extra = dict(prefetch_factor=6) if self.workers else {}
    return DataLoader(self.dataset, batch_size=self.batch, shuffle=True, drop_last=True,
                      num_workers=self.workers, **extra)

  def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
    self.opt.zero_grad(set_to_none=True)
    self.loss_fn(self.model(x), y).backward()
    self.opt.step()

  def warm_up(self) -> None:
    """One mel in this process (librosa's first call compiles numba code for seconds; forked
    workers then inherit it, as they would from the notebook's kernel after its sanity-check
    cells) and one step on a batch of it (oneDNN primitive set-up)."""
    x, y = self.dataset[0]
    self.step(x[None].expand(self.batch, *x.shape), y[None].expand(self.batch, *y.shape))

  def run(self, max_steps: int = 0) -> tuple[int, float]:
    """(examples trained on, wall seconds) of one epoch (or its first `max_steps` steps)."""
    t0, examples = time.perf_counter(), 0
    for i, (x, y) in enumerate(self.loader()):
      if max_steps and i >= max_steps:
        break
      self.step(x, y)
      examples += len(x)
    return examples, time.perf_counter() - t0
