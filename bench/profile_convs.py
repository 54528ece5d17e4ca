"""Per-layer profile of seed 004's conv encoder: forward, input gradient (dx) and weight gradient
(dw) of each strided Conv3×3, XLA CPU vs PyTorch (oneDNN), interleaved in one process.

  .venv/bin/python bench/profile_convs.py --repeats=5 [--threads=1] [--heap]

Also times the reformulations tried for the JAX convolutions (BENCHMARKS.md, "Closing the
gap"): `bf16` (XLA's conv on bfloat16 operands, float32 out; this CPU has avx512_bf16),
`s2d` (space-to-depth: the stride-s 3×3 conv as a stride-1 ⌈3/s⌉² conv on s²·C channels) and
`im2col` (the patch matrix, 9 strided slices concatenated, times the (9·C, C_out) kernel).
Layer shapes are cnn_rnn n=32 on (32, 1, 224, 256): channels 1→32→64→128→256, strides 2, 2, 2,
(4, 2). Columns are min / median ms; GFLOP/s of the forward in brackets.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_step import _maybe_reexec, loadavg

LAYERS = [((32, 224, 256, 1), 32, (2, 2)), ((32, 112, 128, 32), 64, (2, 2)),
          ((32, 56, 64, 64), 128, (2, 2)), ((32, 28, 32, 128), 256, (4, 2))]
DN = ("NHWC", "HWIO", "NHWC")


def conv_lax(x, w, s):
  from jax import lax
  return lax.conv_general_dilated(x, w, s, ((1, 1), (1, 1)), dimension_numbers=DN)


def conv_bf16(x, w, s):
  """XLA's conv on bfloat16 operands, the result cast back to float32."""
  import jax.numpy as jnp
  return conv_lax(x.astype(jnp.bfloat16), w.astype(jnp.bfloat16), s).astype(jnp.float32)


def conv_s2d(x, w, s):
  """Stride-s 3×3 pad-1 conv as a stride-1 conv on the space-to-depth input (same output)."""
  import jax.numpy as jnp
  from jax import lax
  (sh, sw), (kh, kw, ci, co), (b, h, wd, c) = s, w.shape, x.shape
  ho, wo = (h + 2 - kh) // sh + 1, (wd + 2 - kw) // sw + 1
  ah, aw = -(-kh // sh), -(-kw // sw)
  hh, ww = (ho - 1 + ah) * sh, (wo - 1 + aw) * sw
  xp = jnp.pad(x, ((0, 0), (1, max(hh - h - 1, 0)), (1, max(ww - wd - 1, 0)), (0, 0)))[:, :hh, :ww]
  xs = xp.reshape(b, hh // sh, sh, ww // sw, sw, c).transpose(0, 1, 3, 2, 4, 5)
  xs = xs.reshape(b, hh // sh, ww // sw, sh * sw * c)
  wp = jnp.pad(w, ((0, ah * sh - kh), (0, aw * sw - kw), (0, 0), (0, 0)))
  ws = wp.reshape(ah, sh, aw, sw, ci, co).transpose(0, 2, 1, 3, 4, 5).reshape(ah, aw, -1, co)
  return lax.conv_general_dilated(xs, ws, (1, 1), "VALID", dimension_numbers=DN)


def conv_im2col(x, w, s):
  """Stride-s 3×3 pad-1 conv as (patch matrix) @ (9·C, C_out)."""
  from conv_variants import patches
  (b, h, wd, _), (kh, kw, _, co) = x.shape, w.shape
  ho, wo = (h + 2 - kh) // s[0] + 1, (wd + 2 - kw) // s[1] + 1
  p = patches(x, (kh, kw), s, ((1, 1), (1, 1)), (ho, wo))
  return (p @ w.reshape(-1, co)).reshape(b, ho, wo, co)


def layer_fns(shape, co: int, s: tuple[int, int], rng) -> tuple[dict[str, list], float]:
  """{"fwd" | "dx" | "dw": [lax, bf16, s2d, im2col, PyTorch] timed callables}, forward FLOPs."""
  import jax
  import jax.numpy as jnp
  import torch
  x_np = rng.standard_normal(shape).astype(np.float32)
  w_np = (rng.standard_normal((3, 3, shape[-1], co)) * 0.1).astype(np.float32)
  x, w = jnp.asarray(x_np), jnp.asarray(w_np)
  dy = jnp.ones(conv_lax(x, w, s).shape, jnp.float32)
  fns: dict[str, list] = {"fwd": [], "dx": [], "dw": []}

  def add(conv) -> None:
    fwd = jax.jit(lambda x, w: conv(x, w, s))
    dx = jax.jit(lambda w, dy: jax.vjp(lambda x: conv(x, w, s), x)[1](dy)[0])
    dw = jax.jit(lambda x, dy: jax.vjp(lambda w: conv(x, w, s), w)[1](dy)[0])
    fns["fwd"].append(lambda: fwd(x, w).block_until_ready())
    fns["dx"].append(lambda: dx(w, dy).block_until_ready())
    fns["dw"].append(lambda: dw(x, dy).block_until_ready())

  for conv in (conv_lax, conv_bf16, conv_s2d, conv_im2col):
    add(conv)
  xt = torch.from_numpy(x_np).permute(0, 3, 1, 2).contiguous()
  wt = torch.from_numpy(w_np).permute(3, 2, 0, 1).contiguous()
  dyt = torch.ones(dy.shape[0], co, *dy.shape[1:3])
  fns["fwd"].append(lambda: torch.nn.functional.conv2d(xt, wt, stride=s, padding=1))
  fns["dx"].append(lambda: torch.nn.grad.conv2d_input(xt.shape, wt, dyt, stride=s, padding=1))
  fns["dw"].append(lambda: torch.nn.grad.conv2d_weight(xt, wt.shape, dyt, stride=s, padding=1))
  return fns, float(2 * np.prod(dy.shape) * 9 * shape[-1])


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--repeats", type=int, default=5)
  ap.add_argument("--threads", type=int, default=0)
  ap.add_argument("--heap", action="store_true")
  args = ap.parse_args()
  _maybe_reexec(args.heap, args.threads)
  try:
    import torch
  except ImportError:
    raise SystemExit("profile_convs: torch is not installed (bench/requirements.txt); skipped") \
        from None
  threads = args.threads or os.cpu_count() or 1
  torch.set_num_threads(threads)
  print(f"# {time.strftime('%Y-%m-%d %H:%M')} threads {threads} load {loadavg()}")
  print("| layer | part | XLA lax.conv | bf16 | s2d | im2col | PyTorch |")
  print("|---|---|---:|---:|---:|---:|---:|")
  rng = np.random.default_rng(0)
  for shape, co, s in LAYERS:
    fns, flops = layer_fns(shape, co, s, rng)
    for part, row in fns.items():
      if part == "dx" and shape[-1] == 1:
        continue  # the first layer's input gradient is never needed
      times = [[] for _ in row]
      for f in row:
        f()
      for _ in range(args.repeats):
        for i, f in enumerate(row):
          t0 = time.perf_counter()
          f()
          times[i].append(time.perf_counter() - t0)
      cells = [f"{min(t) * 1e3:.0f} / {np.median(t) * 1e3:.0f} ({flops / min(t) / 1e9:.0f})"
               for t in times]
      print(f"| {shape[-1]}→{co} s{s} | {part} | " + " | ".join(cells) + " |", flush=True)
  print(f"# load {loadavg()}")


if __name__ == "__main__":
  main()
