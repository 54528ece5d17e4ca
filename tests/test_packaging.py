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
