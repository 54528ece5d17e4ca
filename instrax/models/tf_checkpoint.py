"""Reading a TensorFlow checkpoint (a tensor bundle: `PREFIX.index` + `PREFIX.data-*`) without
TensorFlow.

The `.index` file is a LevelDB-format table (tensorflow/core/lib/io/table_builder.cc, uncompressed
blocks as tensor bundles write them): a 48-byte footer locates an index block whose entries locate
data blocks; each data block holds prefix-compressed keys with restart points. Key "" is the
bundle header; every other key is a tensor name whose value is a serialized `BundleEntryProto`
(tensorflow/core/protobuf/tensor_bundle.proto: dtype, shape, shard_id, offset, size). The tensor's
bytes are `size` bytes at `offset` of shard `PREFIX.data-{shard:05d}-of-{num_shards:05d}`, in
little-endian C order. Only whole (unsliced) numeric tensors are read; the header's shard count
comes from `BundleHeaderProto.num_shards`.
"""

from __future__ import annotations

import os
import pathlib
import struct

import numpy as np

from instrax.errors import DatasetError

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# tensorflow/core/framework/types.proto DataType → numpy (little endian).
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
           14: None, 17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
  result = shift = 0
  while True:
    if pos >= len(buf):
      raise ValueError("truncated varint")
    b = buf[pos]
    pos += 1
    result |= (b & 0x7F) << shift
    if not b & 0x80:
      return result, pos
    shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
  """(field number, value) pairs of a protobuf message: varints as int, length-delimited as bytes,
  fixed32/fixed64 as int."""
  out, pos = [], 0
  while pos < len(buf):
    key, pos = _varint(buf, pos)
    field, wire = key >> 3, key & 7
    if wire == 0:
      value, pos = _varint(buf, pos)
    elif wire == 2:
      n, pos = _varint(buf, pos)
      value, pos = buf[pos:pos + n], pos + n
    elif wire == 5:
      value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
    elif wire == 1:
      value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
    else:
      raise ValueError(f"unsupported protobuf wire type {wire}")
    out.append((field, value))
  return out


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
  """(key, value) entries of one table block (prefix-compressed keys, restart array at the end)."""
  num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
  end = len(block) - 4 - 4 * num_restarts
  entries, pos, key = [], 0, b""
  while pos < end:
    shared, pos = _varint(block, pos)
    non_shared, pos = _varint(block, pos)
    value_len, pos = _varint(block, pos)
    key = key[:shared] + block[pos:pos + non_shared]
    pos += non_shared
    entries.append((key, block[pos:pos + value_len]))
    pos += value_len
  return entries


def _read_block(data: bytes, handle: bytes) -> bytes:
  offset, pos = _varint(handle, 0)
  size, _ = _varint(handle, pos)
  if data[offset + size] != 0:  # the 5-byte trailer: compression type, crc32c
    raise ValueError("compressed table blocks are not supported")
  return data[offset:offset + size]


def index_entries(index_path: str | os.PathLike) -> dict[str, bytes]:
  """{key: value bytes} of a bundle's `.index` table (key "" = header)."""
  data = pathlib.Path(index_path).read_bytes()
  if len(data) < _FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
    raise ValueError("not a TensorFlow table (bad footer magic)")
  footer = data[-_FOOTER:]
  _, pos = _varint(footer, 0)  # metaindex offset
  _, pos = _varint(footer, pos)  # metaindex size
  index_block = _read_block(data, footer[pos:])
  out = {}
  for _, handle in _block_entries(index_block):
    for key, value in _block_entries(_read_block(data, handle)):
      out[key.decode()] = value
  return out


def load(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
  """Every numeric tensor of the checkpoint `prefix` (e.g. `dir/model.ckpt`; `dir/` when the
  files are `dir/.index` and `dir/.data-00000-of-00001`), by variable name.

  Raises DatasetError naming the file when the bundle is missing, truncated or not a tensor
  bundle; string tensors and sliced (partitioned) variables are skipped.
  """
  prefix = str(prefix)
  index = pathlib.Path(prefix + ".index")
  if not index.is_file():
    raise DatasetError(f"{index}: not found; pass the checkpoint prefix (the path before .index)")
  try:
    entries = index_entries(index)
    header = dict(_fields(entries.pop("", b"")))
    num_shards = int(header.get(1, 1))
    shards: dict[int, bytes] = {}
    tensors = {}
    for name, raw in entries.items():
      fields = _fields(raw)
      f = dict(fields)
      if any(k == 7 for k, _ in fields):  # sliced variable
        continue
      dtype = _DTYPES.get(int(f.get(1, 0)))
      if dtype is None:
        continue
      shape = [int(dict(_fields(d)).get(1, 0)) for k, d in _fields(f.get(2, b"")) if k == 2]
      shard = int(f.get(3, 0))
      if shard not in shards:
        path = pathlib.Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")
        if not path.is_file():
          raise DatasetError(f"{path}: not found (shard {shard} of the checkpoint {prefix})")
        shards[shard] = path.read_bytes()
      offset, size = int(f.get(4, 0)), int(f.get(5, 0))
      buf = shards[shard][offset:offset + size]
      if len(buf) != size:
        raise ValueError(f"tensor {name} runs past the end of its data file")
      tensors[name] = np.frombuffer(buf, dtype).reshape(shape).copy()
  except (ValueError, struct.error, IndexError) as e:
    raise DatasetError(f"{index}: not a readable TensorFlow checkpoint ({e})") from e
  return tensors
