"""Train step alone, JAX (instrax models) vs PyTorch CPU twins, interleaved in one process;
plus FLOP utilisation (the compiled step's cost analysis over step time, against this machine's
measured peak matmul FLOP/s).

  .venv/bin/python bench/bench_train_step.py --models=cnn_rnn,simple_cnn,crnn --repeats=7

Each step: forward in train mode (BatchNorm batch statistics), sigmoid BCE against random
multi-hot targets, backward, Adam(1e-3) update; inputs precomputed (random log-mel-like values).
JAX's step is jitted with its state donated; PyTorch runs eagerly with torch.set_num_threads(the
core count). Repeats alternate JAX, PyTorch, JAX, …, so machine load hits both alike; the table
gives min and median ms and the ratio PyTorch / JAX (> 1: instrax faster). `--heap` re-runs the
process with glibc kept from returning large blocks to the OS (MALLOC_MMAP_MAX_=0,
MALLOC_TRIM_THRESHOLD_ large): both frameworks then reuse their freed buffers instead of
page-faulting fresh ones every step (see BENCHMARKS.md). Needs torch (bench/requirements.txt);
without it only the JAX column is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HEAP_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 36),
            "MALLOC_TOP_PAD_": str(1 << 28)}

# name → (instrax model fields, input (C, F, T), classes, the seed's batch size)
SPECS = {
    "cnn_rnn": (dict(n=32), (1, 224, 256), 11, 32),
    "simple_cnn": (dict(n=32), (1, 224, 256), 11, 32),
    "crnn": (dict(channels=(16, 32, 64), pools=((2, 2), (2, 2), (2, 2)), rnn_features=64,
                  dropout=0.2), (1, 64, 151), 11, 32),
    # seed 002: 5-s chunks of 208 frames, batch 40; targets are (B, T−1, 88) key rolls
    "onsets_velocities": (dict(), (1, 229, 208), 88, 40),
}


def targets_shape(name: str, batch: int) -> tuple[int, ...]:
  _, (_, _, t), classes, _ = SPECS[name]
  return (batch, t - 1, classes) if name == "onsets_velocities" else (batch, classes)


ONE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _maybe_reexec(heap: bool, threads: int) -> None:
  """Re-runs this process with the environment the options need (read at start-up only)."""
  env = dict(HEAP_ENV) if heap else {}
  if threads == 1 and ONE_THREAD_XLA not in os.environ.get("XLA_FLAGS", ""):
    env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + ONE_THREAD_XLA).strip()
  if env and any(os.environ.get(k) != v for k, v in env.items()):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **env})


def loadavg() -> str:
  return " ".join(f"{v:.1f}" for v in os.getloadavg())


@contextlib.contextmanager
def flax_convs_via_layers():
  """Within it, every flax nn.Conv traced calls instrax.models.layers.conv_general_dilated."""
  import flax.linen.linear as linear
  from jax import lax

  from instrax.models import layers

  class _Lax:
    conv_general_dilated = staticmethod(layers.conv_general_dilated)

    def __getattr__(self, name):
      return getattr(lax, name)

  linear.lax = _Lax()
  try:
    yield
  finally:
    linear.lax = lax


def jax_step(name: str, batch: int, variant: str = ""):
  """(step(x, y) → loss, flops per step, param count) for instrax model `name`; `variant`
  "matmul_dw": every flax conv traced as conv_variants.conv_matmul_dw (attempt 5 in
  BENCHMARKS.md); "layers": as instrax.models.layers.conv_general_dilated (attempt 7)."""
  import jax
  import jax.numpy as jnp
  import optax

  import instrax.models  # noqa: F401  (registers the models)
  from instrax.models.registry import build_model
  fields, (c, f, t), classes, _ = SPECS[name]
  model = build_model(name, classes, **fields)
  x0 = jnp.zeros((batch, c, f, t), jnp.float32)
  variables = model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x0,
                         train=False)
  tx = optax.adam(1e-3)
  state = (variables["params"], variables.get("batch_stats", {}), tx.init(variables["params"]),
           jax.random.key(2))

  def step(state, x, y):
    params, stats, opt, key = state
    key, drop = jax.random.split(key)

    def loss_fn(p):
      logits, upd = model.apply({"params": p, "batch_stats": stats}, x, train=True,
                                rngs={"dropout": drop}, mutable=["batch_stats"])
      if isinstance(logits, dict):  # onsets (B, S, T, K) and velocity (B, T, K) vs rolls y
        loss = (optax.sigmoid_binary_cross_entropy(logits["onsets"], y[:, None]).mean()
                + optax.sigmoid_binary_cross_entropy(logits["velocity"], y).mean())
      else:
        loss = optax.sigmoid_binary_cross_entropy(logits, y).mean()
      return loss, upd["batch_stats"]

    (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt = tx.update(grads, opt, params)
    return (optax.apply_updates(params, updates), stats, opt, key), loss

  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(-40, 15, (batch, c, f, t)).astype(np.float32))
  y = jnp.asarray((rng.random(targets_shape(name, batch)) < 0.2).astype(np.float32))
  jitted = jax.jit(step, donate_argnums=0)
  import conv_variants
  patch = {"matmul_dw": conv_variants.patched_flax_convs, "layers": flax_convs_via_layers}.get(
      variant, contextlib.nullcontext)
  with patch():
    compiled = jitted.lower(state, x, y).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  holder = [state]

  def run() -> None:
    holder[0], loss = compiled(holder[0], x, y)
    loss.block_until_ready()

  n_params = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables["params"]))
  return run, float(cost.get("flops", float("nan"))), n_params


def torch_step(name: str, batch: int, threads: int):
  """(step() → None, param count) for the PyTorch twin of `name`, or None without torch."""
  try:
    import torch
  except ImportError:
    return None
  import torch_twins
  torch.set_num_threads(threads)
  _, (c, f, t), classes, _ = SPECS[name]
  ctor = {"cnn_rnn": torch_twins.SeedCNNRNN, "simple_cnn": torch_twins.SeedSimpleCNN,
          "crnn": torch_twins.DemoCRNN, "onsets_velocities": torch_twins.OnsetsVelocitiesNet}[name]
  model = ctor(num_classes=classes, in_hw=(f, t)).train()
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)
  loss_fn = torch.nn.BCEWithLogitsLoss()
  rng = np.random.default_rng(0)
  x = torch.from_numpy(rng.normal(-40, 15, (batch, c, f, t)).astype(np.float32))
  y = torch.from_numpy((rng.random(targets_shape(name, batch)) < 0.2).astype(np.float32))

  def run() -> None:
    opt.zero_grad(set_to_none=True)
    out = model(x)
    if isinstance(out, tuple):  # onsets (B, S, T, K), velocity (B, T, K)
      loss = loss_fn(out[0], y[:, None].expand_as(out[0])) + loss_fn(out[1], y)
    else:
      loss = loss_fn(out, y)
    loss.backward()
    opt.step()

  return run, sum(p.numel() for p in model.parameters())


def peak_matmul(repeats: int) -> tuple[float, float | None]:
  """Best FLOP/s of a 2048² float32 matmul: (JAX, PyTorch or None)."""
  import jax
  import jax.numpy as jnp
  n = 2048
  a = jnp.asarray(np.random.default_rng(0).random((n, n), np.float32))
  mm = jax.jit(lambda a: a @ a)
  best_j = best_t = float("inf")
  try:
    import torch
    at = torch.from_numpy(np.array(a))
  except ImportError:
    at = None
  mm(a).block_until_ready()
  for _ in range(repeats):
    t0 = time.perf_counter()
    mm(a).block_until_ready()
    best_j = min(best_j, time.perf_counter() - t0)
    if at is not None:
      t0 = time.perf_counter()
      at @ at
      best_t = min(best_t, time.perf_counter() - t0)
  flops = 2 * n**3
  return flops / best_j, (flops / best_t if at is not None else None)


def interleaved(fns: list[Callable[[], None]], repeats: int, warmup: int = 2) -> list[list[float]]:
  """Times each fn `repeats` times, alternating between them; seconds per call."""
  for fn in fns:
    for _ in range(warmup):
      fn()
  times: list[list[float]] = [[] for _ in fns]
  for _ in range(repeats):
    for i, fn in enumerate(fns):
      t0 = time.perf_counter()
      fn()
      times[i].append(time.perf_counter() - t0)
  return times


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--models", default="cnn_rnn,simple_cnn,crnn,onsets_velocities")
  ap.add_argument("--batch", type=int, default=0, help="0: each seed's own batch size")
  ap.add_argument("--repeats", type=int, default=7)
  ap.add_argument("--heap", action="store_true", help="keep freed heap memory (see docstring)")
  ap.add_argument("--matmul_dw", action="store_true",
                  help="add a row with conv_variants.conv_matmul_dw in every conv (attempt 5)")
  ap.add_argument("--layers_conv", action="store_true",
                  help="add a row with instrax.models.layers.conv_general_dilated in every conv")
  ap.add_argument("--threads", type=int, default=0,
                  help="1: both single-threaded (robust to a busy machine); 0: all cores")
  args = ap.parse_args()
  _maybe_reexec(args.heap, args.threads)
  threads = args.threads or os.cpu_count() or 1
  import jax
  heap = "kept" if os.environ.get("MALLOC_MMAP_MAX_") == "0" else "default"
  print(f"# {time.strftime('%Y-%m-%d %H:%M')}  jax {jax.__version__}  "
        f"threads {threads}/{os.cpu_count()}  heap={heap}  "
        f"load {loadavg()}")
  try:
    import torch
    torch.set_num_threads(threads)
  except ImportError:
    print("# torch is not installed (bench/requirements.txt): PyTorch columns skipped")
  peak_j, peak_t = peak_matmul(args.repeats)
  print(f"# peak 2048² f32 matmul: JAX {peak_j / 1e9:.0f} GFLOP/s"
        + (f", PyTorch {peak_t / 1e9:.0f} GFLOP/s" if peak_t else ""))
  peak = max(peak_j, peak_t or 0.0)
  print("| model | batch | JAX min / median ms | PyTorch min / median ms "
        "| PyTorch/JAX (min, median) | GFLOP/step | JAX GFLOP/s | % of peak | load |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
  for name in args.models.split(","):
    batch = args.batch or SPECS[name][3]
    run_j, flops, n_j = jax_step(name, batch)
    twin = torch_step(name, batch, threads)
    if twin is not None and twin[1] != n_j:
      raise SystemExit(f"{name}: PyTorch twin has {twin[1]} params, instrax {n_j}")
    fns = [run_j] + ([twin[0]] if twin else [])
    if args.matmul_dw:
      fns.append(jax_step(name, batch, "matmul_dw")[0])
    if args.layers_conv:
      fns.append(jax_step(name, batch, "layers")[0])
    times = interleaved(fns, args.repeats)
    tj = min(times[0]), float(np.median(times[0]))
    row = f"| {name} | {batch} | {tj[0] * 1e3:.0f} / {tj[1] * 1e3:.0f} | "
    if twin:
      tt = min(times[1]), float(np.median(times[1]))
      row += (f"{tt[0] * 1e3:.0f} / {tt[1] * 1e3:.0f} | **{tt[0] / tj[0]:.2f}×**, "
              f"{tt[1] / tj[1]:.2f}× | ")
    else:
      row += "(no torch) | – | "
    gfs = flops / tj[0] / 1e9
    row += f"{flops / 1e9:.1f} | {gfs:.0f} | {100 * flops / tj[0] / peak:.0f} % | {loadavg()} |"
    print(row, flush=True)
    extra = [v for v, on in (("matmul dw", args.matmul_dw), ("layers conv", args.layers_conv))
             if on]
    for label, t in zip(extra, times[len(times) - len(extra):]):
      tm = min(t), float(np.median(t))
      print(f"| {name}, {label} | {batch} | {tm[0] * 1e3:.0f} / {tm[1] * 1e3:.0f} | | "
            + (f"{tt[0] / tm[0]:.2f}×, {tt[1] / tm[1]:.2f}× |" if twin else "– |")
            + f" | | | {loadavg()} |", flush=True)


if __name__ == "__main__":
  main()
