"""PyTorch twins of instrax models, for the side-by-side benchmarks (bench/bench_train_step.py).

Each twin has the same layers, shapes and parameter count as its instrax model (checked by
bench_train_step.py before timing). SeedSimpleCNN / SeedCNNRNN follow seed 004's notebook
(seeds.md §5.2): 4 × [Conv3×3 stride 2 pad 1 → BN → ReLU], channels n·(1, 2, 4, 8); CNN_RNN's
block 4 has stride (4, 2) and a GRU(8n) runs over the mel axis, keeping the last step.
DemoCRNN mirrors instrax/models/crnn.py (input BN, bias-free convs, max-pool before BN, BiGRU,
mean+max pooling over time). Inputs are NCHW = (B, C, mels, frames), as the seed feeds them.
"""

from __future__ import annotations

import torch
from torch import nn


def _encoder(in_ch: int, n: int, last_stride: tuple[int, int]) -> nn.Sequential:
  layers: list[nn.Module] = []
  for i, mult in enumerate((1, 2, 4, 8)):
    stride = last_stride if i == 3 else (2, 2)
    layers += [nn.Conv2d(in_ch, n * mult, 3, stride, 1), nn.BatchNorm2d(n * mult), nn.ReLU()]
    in_ch = n * mult
  return nn.Sequential(*layers)


class SeedSimpleCNN(nn.Module):
  """SIMPLE_CNN: (B, 1, 224, 256) → (B, classes); 5,436,139 params at n=32, 11 classes."""

  def __init__(self, num_classes: int = 11, n: int = 32, in_hw: tuple[int, int] = (224, 256)):
    super().__init__()
    self.encoder = _encoder(1, n, (2, 2))
    flat = 8 * n * (in_hw[0] // 16) * (in_hw[1] // 16)
    self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 88), nn.ReLU(),
                              nn.Linear(88, num_classes))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.head(self.encoder(x))


class SeedCNNRNN(nn.Module):
  """CNN_RNN: (B, 1, 224, 256) → (B, classes); 3,756,267 params at n=32, 11 classes."""

  def __init__(self, num_classes: int = 11, n: int = 32, in_hw: tuple[int, int] = (224, 256)):
    super().__init__()
    self.encoder = _encoder(1, n, (4, 2))
    self.gru = nn.GRU(8 * n * (in_hw[1] // 16), 8 * n, batch_first=True)
    self.head = nn.Sequential(nn.Linear(8 * n, 88), nn.ReLU(), nn.Linear(88, num_classes))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.encoder(x)  # (B, C, F, T)
    b, c, f, t = x.shape
    seq = x.permute(0, 2, 1, 3).reshape(b, f, c * t)  # the sequence runs over the mel axis
    out, _ = self.gru(seq)
    return self.head(out[:, -1])


class DemoCRNN(nn.Module):
  """instrax's `crnn` (configs/demo.py sizes): (B, 1, 64, T) → (B, classes)."""

  def __init__(self, num_classes: int = 11, channels=(16, 32, 64), pools=((2, 2),) * 3,
               stem_stride=(2, 2), rnn_features: int = 64, in_hw: tuple[int, int] = (64, 151)):
    super().__init__()
    self.input_norm = nn.BatchNorm2d(1)
    blocks: list[nn.Module] = []
    in_ch, (f, t) = 1, in_hw
    f, t = (f - 1) // stem_stride[0] + 1, (t - 1) // stem_stride[1] + 1
    for i, (c, p) in enumerate(zip(channels, pools)):
      stride = stem_stride if i == 0 else (1, 1)
      blocks += [nn.Conv2d(in_ch, c, 3, stride, 1, bias=False), nn.MaxPool2d(p), nn.BatchNorm2d(c),
                 nn.ReLU()]
      in_ch, f, t = c, f // p[0], t // p[1]
    self.blocks = nn.Sequential(*blocks)
    self.gru = nn.GRU(f * in_ch, rnn_features, batch_first=True, bidirectional=True)
    self.dropout = nn.Dropout(0.2)
    self.head = nn.Linear(4 * rnn_features, num_classes)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.blocks(self.input_norm(x))  # (B, C, F, T)
    b, c, f, t = x.shape
    seq = x.permute(0, 3, 2, 1).reshape(b, t, f * c)
    out, _ = self.gru(seq)
    pooled = torch.cat([out.mean(1), out.amax(1)], dim=-1)
    return self.head(self.dropout(pooled))


class _CAM(nn.Module):
  """Context-aware module (instrax/models/onsets_velocities.py CAM) on NCHW."""

  def __init__(self, c_in: int, hdc: int, kernels, dilations, se_bottleneck: int = 8):
    super().__init__()
    out = hdc * len(kernels)
    self.se = nn.Sequential(nn.Linear(c_in, se_bottleneck), nn.ReLU(),
                            nn.Linear(se_bottleneck, out), nn.Sigmoid())
    self.skip = nn.Sequential(nn.Conv2d(c_in, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU())
    self.hdcs = nn.ModuleList(
        nn.Sequential(nn.Conv2d(c_in, hdc, k, dilation=d, bias=False,
                                padding=tuple((kk - 1) * dd // 2 for kk, dd in zip(k, d))),
                      nn.BatchNorm2d(hdc), nn.ReLU())
        for k, d in zip(kernels, dilations))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    gate = self.se(x.mean(dim=(2, 3)))[:, :, None, None]
    return self.skip(x) + torch.cat([h(x) for h in self.hdcs], dim=1) * gate


def _bn_lrelu(c: int) -> nn.Sequential:
  return nn.Sequential(nn.BatchNorm2d(c), nn.LeakyReLU(0.1))


class _Stage(nn.Module):
  """A CAM stage: (B, C, 88, T) → per-key logits (B, T, 88)."""

  def __init__(self, c_in: int, num_cams: int, keys: int = 88, hidden: int = 200):
    super().__init__()
    cam = dict(hdc=4, kernels=((1, 11),) * 3, dilations=((1, 1), (1, 2), (1, 3)))
    layers: list[nn.Module] = [nn.Conv2d(c_in, 12, 1, bias=False), _bn_lrelu(12)]
    for _ in range(num_cams):
      layers += [_CAM(12, **cam), _bn_lrelu(12)]
    layers += [nn.Conv2d(12, hidden, (keys, 3), padding=(0, 1), bias=False), _bn_lrelu(hidden),
               nn.Conv2d(hidden, hidden, 1, bias=False), _bn_lrelu(hidden), nn.Dropout(0.15),
               nn.Conv2d(hidden, keys, 1)]
    self.body = nn.Sequential(*layers)
    self.key_norm = nn.BatchNorm1d(keys)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.key_norm(self.body(x)[:, :, 0]).transpose(1, 2)


class OnsetsVelocitiesNet(nn.Module):
  """instrax's `onsets_velocities` (seed 002): (B, 1, 229, T) → onsets (B, 3, T−1, 88), velocity
  (B, T−1, 88) logits; 3,127,168 params."""

  def __init__(self, num_classes: int = 88, in_hw: tuple[int, int] = (229, 208), c: int = 16):
    super().__init__()
    mels = in_hw[0]
    self.specnorm = nn.BatchNorm1d(2 * mels)
    cam = dict(hdc=c // 4, kernels=((3, 5),) * 4, dilations=((1, 1), (1, 2), (1, 3), (1, 4)))
    self.stem = nn.Sequential(nn.Conv2d(2, c, 3, padding=1, bias=False), _bn_lrelu(c),
                              *[m for _ in range(3) for m in (_CAM(c, **cam), _bn_lrelu(c))])
    self.mel_to_key = nn.Parameter(torch.randn(mels, c, num_classes) * (2 / mels) ** 0.5)
    self.key_bn = _bn_lrelu(c)
    self.onsets = nn.ModuleList(_Stage(c, 3, num_classes) for _ in range(3))
    self.velocity = _Stage(c + 1, 1, num_classes)

  def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mel = x[:, 0]  # (B, F, T)
    x = torch.stack([mel[..., 1:], torch.diff(mel, dim=-1)], dim=1)  # (B, 2, F, T−1)
    b, c, f, t = x.shape
    x = self.specnorm(x.reshape(b, c * f, t)).reshape(b, c, f, t)
    x = torch.einsum("bcft,fck->bckt", self.stem(x), self.mel_to_key)
    stem = self.key_bn(x)  # (B, C, 88, T−1)
    stages: list[torch.Tensor] = []
    for stage in self.onsets:
      out = stage(stem)
      stages.append(out if not stages else out + stages[-1])
    vel_in = torch.cat([stem, stages[-1].transpose(1, 2)[:, None]], dim=1)
    return torch.stack(stages, dim=1), self.velocity(vel_in)
