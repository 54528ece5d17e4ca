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
