"""musicnn: the TensorFlow checkpoint reader, the weight conversion and the Flax port against the
original's outputs (tests/models/data/musicnn_reference.json, written by the TensorFlow model)."""

from __future__ import annotations

import json
import pathlib
import struct
import zipfile

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
from flax import traverse_util

from instrax.data import vocabularies
from instrax.errors import ConfigError, DatasetError
from instrax.models import musicnn as musicnn_model
from instrax.models import musicnn_convert, tf_checkpoint
from instrax.models.musicnn import Musicnn

DATA = pathlib.Path(__file__).with_name("data")


# --- a minimal tensor-bundle writer, to test the reader on known content -------------------------
def _varint(n: int) -> bytes:
  out = bytearray()
  while True:
    out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
    n >>= 7
    if not n:
      return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
  if isinstance(value, bytes):
    return _varint(number << 3 | 2) + _varint(len(value)) + value
  return _varint(number << 3) + _varint(value)


def _block(entries: list[tuple[bytes, bytes]], restart_every: int = 2) -> bytes:
  out, restarts, previous = bytearray(), [], b""
  for i, (key, value) in enumerate(entries):
    shared = 0
    if i % restart_every:
      while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
        shared += 1
    else:
      restarts.append(len(out))
    out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
    out += key[shared:] + value
    previous = key
  for r in restarts:
    out += struct.pack("<I", r)
  return bytes(out + struct.pack("<I", len(restarts)))


def _write_bundle(prefix: pathlib.Path, tensors: dict[str, np.ndarray], per_block: int = 2) -> None:
  dtypes = {np.dtype("float32"): 1, np.dtype("int32"): 3, np.dtype("float16"): 19}
  data, entries = bytearray(), [(b"", _field(1, 1))]  # header: num_shards = 1
  for name in sorted(tensors):
    t = np.asarray(tensors[name], order="C")
    shape = b"".join(_field(2, _field(1, d)) for d in t.shape)
    entry = (_field(1, dtypes[t.dtype]) + _field(2, shape) + _field(4, len(data))
             + _field(5, t.nbytes))
    data += t.tobytes()
    entries.append((name.encode(), entry))
  table, index = bytearray(), []
  for i in range(0, len(entries), per_block):
    chunk = entries[i:i + per_block]
    block = _block(chunk)
    index.append((chunk[-1][0] + b"\xff", _varint(len(table)) + _varint(len(block))))
    table += block + b"\x00" + b"\x00" * 4  # trailer: no compression, crc (unchecked)
  index_block = _block(index)
  handle = _varint(len(table)) + _varint(len(index_block))
  table += index_block + b"\x00" * 5
  footer = (_varint(0) + _varint(0) + handle).ljust(40, b"\x00")
  table += footer + struct.pack("<Q", 0xDB4775248B80FB57)
  prefix.with_name(prefix.name + ".index").write_bytes(bytes(table))
  prefix.with_name(prefix.name + ".data-00000-of-00001").write_bytes(bytes(data))


def test_reader_returns_every_tensor_of_a_bundle(tmp_path):
  rng = np.random.default_rng(0)
  tensors = {"conv2d/kernel": rng.normal(size=(7, 3, 1, 4)).astype(np.float32),
             "conv2d/bias": rng.normal(size=4).astype(np.float32),
             "conv2d_1/kernel": rng.normal(size=(2, 2)).astype(np.float16),
             "batch_normalization/moving_mean": np.arange(300, dtype=np.float32),
             "global_step": np.array(12345, np.int32)}
  _write_bundle(tmp_path / "model.ckpt", tensors)
  got = tf_checkpoint.load(tmp_path / "model.ckpt")
  assert set(got) == set(tensors)
  for name, want in tensors.items():
    assert got[name].dtype == want.dtype and got[name].shape == want.shape
    np.testing.assert_array_equal(got[name], want)


def test_reader_errors_name_the_file(tmp_path):
  with pytest.raises(DatasetError, match="not found"):
    tf_checkpoint.load(tmp_path / "missing")
  (tmp_path / "bad.index").write_bytes(b"not a table" * 10)
  with pytest.raises(DatasetError, match=r"bad.index.*not a readable"):
    tf_checkpoint.load(tmp_path / "bad")


# --- conversion --------------------------------------------------------------------------------
def _fresh(num_classes: int = 50, **fields) -> tuple[Musicnn, dict]:
  model = Musicnn(num_classes=num_classes, **fields)
  x = jnp.zeros((1, 1, 96, 188))
  return model, dict(model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x,
                                train=False))


def _checkpoint_like(variables: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
  """TensorFlow-named random tensors shaped as the original checkpoint's."""
  params = variables["params"]
  out = {}
  for ours, theirs in musicnn_convert._CONVS.items():
    kernel = params[ours]["kernel"].shape
    shape = (*kernel[:2], 1, kernel[2]) if ours.startswith("midend") else kernel
    out[f"{theirs}/kernel"] = rng.normal(size=shape).astype(np.float32)
    out[f"{theirs}/bias"] = rng.normal(size=params[ours]["bias"].shape).astype(np.float32)
  for ours, theirs in musicnn_convert._NORMS.items():
    for leaf in ("gamma", "beta", "moving_mean", "moving_variance"):
      out[f"{theirs}/{leaf}"] = rng.uniform(0.5, 1.5, params[ours]["scale"].shape).astype(
          np.float32)
  for ours, theirs in musicnn_convert._DENSES.items():
    out[f"{theirs}/kernel"] = rng.normal(size=params[ours]["kernel"].shape).astype(np.float32)
    out[f"{theirs}/bias"] = rng.normal(size=params[ours]["bias"].shape).astype(np.float32)
  return out


def test_conversion_fills_every_variable_and_folds_the_log_offset(tmp_path):
  _, fresh = _fresh()
  tensors = _checkpoint_like(fresh, np.random.default_rng(1))
  converted = musicnn_convert.convert(tensors)
  for collection in ("params", "batch_stats"):
    want = traverse_util.flatten_dict(fresh[collection], sep="/")
    got = traverse_util.flatten_dict(converted[collection], sep="/")
    assert set(got) == set(want)
    assert all(got[k].shape == want[k].shape for k in want)
  np.testing.assert_allclose(converted["batch_stats"]["input_norm"]["mean"],
                             tensors["batch_normalization/moving_mean"] - 4.0)
  np.testing.assert_array_equal(converted["params"]["midend_1_conv"]["kernel"],
                                tensors["conv2d_5/kernel"][:, :, 0, :])
  path = musicnn_convert.save(converted, tmp_path / "w.msgpack")
  loaded = Musicnn(num_classes=50, pretrained=str(path)).load_pretrained(fresh)
  np.testing.assert_array_equal(loaded["params"]["head"]["kernel"], tensors["dense_1/kernel"])
  # another vocabulary keeps a fresh head and takes everything else
  _, fresh11 = _fresh(11)
  loaded11 = Musicnn(num_classes=11, pretrained=str(path)).load_pretrained(fresh11)
  np.testing.assert_array_equal(loaded11["params"]["head"]["kernel"],
                                fresh11["params"]["head"]["kernel"])
  np.testing.assert_array_equal(loaded11["params"]["penultimate"]["kernel"],
                                tensors["dense/kernel"])
  del tensors["dense/bias"]
  with pytest.raises(DatasetError, match="dense/bias"):
    musicnn_convert.convert(tensors)


def _fake_wheel(path: pathlib.Path, checkpoints: dict[str, dict[str, np.ndarray]]) -> pathlib.Path:
  """A zip laid out as the musicnn wheel: musicnn/<name>/.index and .data-00000-of-00001."""
  with zipfile.ZipFile(path, "w") as wheel:
    for name, tensors in checkpoints.items():
      _write_bundle(path.parent / name, tensors)
      for suffix in (".index", ".data-00000-of-00001"):
        wheel.write(path.parent / (name + suffix), f"musicnn/{name}/{suffix}")
  return path


def test_each_checkpoint_of_the_wheel_is_read_by_name(tmp_path):
  _, fresh = _fresh()
  tensors = {name: _checkpoint_like(fresh, np.random.default_rng(i))
             for i, name in enumerate(musicnn_convert.CHECKPOINTS)}
  wheel = _fake_wheel(tmp_path / "both.whl", tensors)
  for name, want in tensors.items():
    got = musicnn_convert.read_wheel(wheel, name)
    assert set(got) == set(want)
    np.testing.assert_array_equal(got["dense_1/kernel"], want["dense_1/kernel"])
  assert musicnn_convert.output_path() == musicnn_convert.DEFAULT_OUTPUT
  assert musicnn_convert.output_path("MSD_musicnn").name == "MSD_musicnn.msgpack"
  with pytest.raises(ConfigError, match="MSD_vgg"):
    musicnn_convert.read_wheel(wheel, "MSD_vgg")
  only_mtt = _fake_wheel(tmp_path / "mtt.whl", {"MTT_musicnn": tensors["MTT_musicnn"]})
  with pytest.raises(DatasetError, match="musicnn/MSD_musicnn/"):
    musicnn_convert.read_wheel(only_mtt, "MSD_musicnn")


def test_missing_weights_and_a_wrong_wheel_are_clear_errors(tmp_path):
  _, fresh = _fresh()
  with pytest.raises(DatasetError, match=r"musicnn_convert --checkpoint=NAME --output=.*MSD"):
    Musicnn(num_classes=50, pretrained=str(tmp_path / "none.msgpack")).load_pretrained(fresh)
  wheel = tmp_path / musicnn_convert.WHEEL
  wheel.write_bytes(b"not the wheel")
  with pytest.raises(RuntimeError, match=r"SHA-256.*delete it"):
    musicnn_convert.check_wheel(wheel)
  with pytest.raises(ConfigError, match="freeze"):
    _fresh(freeze="everything")


@pytest.mark.parametrize("freeze, frozen_blocks", [
    ("none", ()), ("frontend", ("input_norm", "timbral_", "temporal_")),
    ("midend", ("input_norm", "timbral_", "temporal_", "midend_"))])
def test_freeze_stops_gradients_before_the_frozen_point(freeze, frozen_blocks):
  assert musicnn_model.frozen_modules(freeze) == frozen_blocks
  model, variables = _fresh(11, freeze=freeze)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 1, 96, 188)), jnp.float32)

  def loss(params):
    out, _ = model.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"],
                         rngs={"dropout": jax.random.key(0)})
    return (out ** 2).mean()

  grads = traverse_util.flatten_dict(jax.jit(jax.grad(loss))(variables["params"]), sep="/")
  for path, g in grads.items():
    assert np.isfinite(g).all(), path
    assert (not np.any(g)) == path.startswith(frozen_blocks), path


# --- the port against the original ---------------------------------------------------------
def _reference_logmel(path: pathlib.Path) -> np.ndarray:
  """musicnn.extractor.batch_data's log-mel of the first 3 s (as the reference script)."""
  audio, _ = librosa.load(path, sr=16000)
  audio = np.pad(audio, (0, max(0, 48000 - len(audio))))[:48000]
  mel = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
  # float16-rounded mel, scaled in float32 (numpy 1 promoted 10000·float16 to float32)
  return np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)[:187]


@pytest.mark.parametrize("checkpoint", musicnn_convert.CHECKPOINTS)
def test_port_matches_the_tensorflow_original(real_fixtures, checkpoint):
  weights = musicnn_convert.output_path(checkpoint).expanduser()
  if not weights.is_file():
    pytest.skip(f"no {weights} (make pretrained)")
  ref = json.loads((DATA / "musicnn_reference.json").read_text())
  fixtures = real_fixtures.parent
  x = np.stack([_reference_logmel(fixtures / f) for f in ref["files"]]) - 4.0  # our frontend's log
  x = jnp.asarray(x).transpose(0, 2, 1)[:, None]
  model, fresh = _fresh()
  variables = Musicnn(num_classes=50, pretrained=str(weights)).load_pretrained(fresh)
  logits, inter = model.apply(variables, x, train=False, mutable="intermediates")
  want = ref[checkpoint]
  np.testing.assert_allclose(logits, want["logits"], atol=1e-3)
  np.testing.assert_allclose(inter["intermediates"]["features"][0], want["penultimate"], atol=1e-3)
  if checkpoint == "MTT_musicnn":
    tags = np.argmax(np.asarray(logits), axis=-1)
    assert [vocabularies.MTAT[t] for t in tags] == ["piano", "opera"]  # the violin: opera, violin


def test_one_training_step_from_pretrained_weights_keeps_the_frozen_front_end(tmp_path,
                                                                               synth_data_dir):
  """configs/instruments.py:model=musicnn: the converted weights are in the fresh state; a real
  step moves the trainable blocks and leaves the frozen front end (params and statistics) as
  loaded, weight decay included."""
  from instrax.data import sources
  from instrax.experiment import DataFormat, Experiment
  from instrax.train import sharding
  from tests.conftest import tiny_config

  _, fresh = _fresh()
  weights = musicnn_convert.save(
      musicnn_convert.convert(_checkpoint_like(fresh, np.random.default_rng(2))),
      tmp_path / "w.msgpack")
  config = tiny_config("instruments", f"model=musicnn,tiny,pretrained={weights}",
                       data_dir=synth_data_dir, schedule__warmup_steps=0)
  dataset = sources.load(config.dataset.name, synth_data_dir)
  exp = Experiment(config, DataFormat.from_dataset(dataset))
  state = exp.init_state()
  loaded = musicnn_convert.load_into(weights, {"params": state.params,
                                               "batch_stats": state.batch_stats})
  source = dataset.source(config.dataset.train_split, exp.task.train_features())
  rng = np.random.default_rng(0)
  batch = jax.tree.map(lambda *xs: np.stack(xs),
                       *[exp.task.train_example(source[i], rng) for i in range(4)])
  before = jax.tree.map(np.asarray, {"params": state.params, "batch_stats": state.batch_stats})
  new, metrics = exp.train_step(state, sharding.to_global(batch, exp.mesh))  # donates `state`
  assert bool(metrics["finite"])
  for collection, after in (("params", new.params), ("batch_stats", new.batch_stats)):
    want = traverse_util.flatten_dict(loaded[collection], sep="/")
    got0 = traverse_util.flatten_dict(before[collection], sep="/")
    got1 = traverse_util.flatten_dict(after, sep="/")
    for path in want:
      if not path.startswith("head/"):
        np.testing.assert_array_equal(got0[path], want[path])  # loaded
      frozen = path.startswith(("input_norm", "timbral_", "temporal_"))
      assert np.array_equal(got0[path], got1[path]) == frozen, (collection, path)
