"""pyproject.toml: the console commands point at real entry functions; pins come from one list."""

from __future__ import annotations

import importlib
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_console_scripts_resolve_to_callables():
  scripts = PYPROJECT["project"]["scripts"]
  assert set(scripts) == {"instrax-launch", "instrax-predict", "instrax-sweep", "instrax-build",
                          "instrax-results"}
  for target in scripts.values():
    module, _, attr = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attr)), target


def test_dependencies_are_the_pinned_requirement_files():
  dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
  assert dynamic["dependencies"]["file"] == ["requirements.txt"]
  assert dynamic["optional-dependencies"]["dev"]["file"] == ["requirements-dev.txt"]
  for name in ("requirements.txt", "requirements-dev.txt"):
    lines = [ln.strip() for ln in (ROOT / name).read_text().splitlines()]
    pins = [ln for ln in lines if ln and not ln.startswith("#")]
    assert pins and all("==" in p for p in pins), name
    assert not any(p.split("==")[0].lower() in ("tensorflow", "tensorflow-cpu") for p in pins)


def test_every_package_is_installed():
  include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
  tops = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
  assert {f"{t}*" for t in tops} <= set(include)


def test_every_shipped_file_travels_with_a_wheel_install(monkeypatch, tmp_path):
  """pyproject's data-files copy each file under shipped/ to share/instrax/shipped/<same path>,
  and predict looks there when shipped/ is not beside the package (a non-editable install)."""
  import glob

  from instrax import predict

  covered = set()
  for target, patterns in PYPROJECT["tool"]["setuptools"]["data-files"].items():
    for pattern in patterns:
      for path in glob.glob(str(ROOT / pattern)):
        rel = pathlib.Path(path).relative_to(ROOT)
        assert target == "share/instrax/" + str(rel.parent), (target, rel)
        covered.add(str(rel))
  shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "shipped").rglob("*") if p.is_file()}
  assert shipped and shipped == covered, shipped ^ covered
  monkeypatch.setattr(predict.os.path, "isdir", lambda p: False)
  monkeypatch.setattr(predict.sysconfig, "get_path", lambda name: str(tmp_path))
  assert predict._shipped_root() == str(tmp_path / "share" / "instrax" / "shipped")
