"""`python -m instrax.results RUN` prints the headline line that README.md quotes."""

from __future__ import annotations

import json
import re

import pytest

from instrax import results
from tests.conftest import ROOT


def test_headline_line():
  r = {"test/micro_f1": 0.90551, "test/macro_f1": 0.90186, "validation/micro_f1": 0.5}
  assert results.headline(r) == "test micro-F1 0.906, macro-F1 0.902"
  assert results.headline(r, "validation") == "validation micro-F1 0.500"
  assert results.headline({"test/map": 0.8431}) == "test mAP 0.843"
  with pytest.raises(ValueError, match="none of"):
    results.headline({"test/lrap": 0.3})


def test_cli_reads_the_run(tmp_path, capsys):
  (tmp_path / "results.json").write_text(json.dumps({"step": 6, "test/micro_f1": 0.25}))
  assert results.main([str(tmp_path)]) == 0
  assert capsys.readouterr().out == "test micro-F1 0.250\n"
  assert results.main([str(tmp_path / "missing")]) == 2
  assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_readme_quotes_a_fresh_demo_run(tmp_path):
  """The demo numbers in README.md are what `make demo` gives at this commit (≈ 2½ min: builds
  synthmix/demo, trains and evaluates configs/demo.py as is)."""
  from configs import demo
  from instrax import main

  config = demo.get_config()
  config.data_dir = str(tmp_path / "data")
  main.run(config, str(tmp_path / "run"), "train_and_eval")
  line = results.headline(json.loads((tmp_path / "run" / "results.json").read_text()))
  readme = " ".join((ROOT / "README.md").read_text().split())  # line breaks → spaces
  quoted = re.findall(r"test micro-F1 [0-9.]+, macro-F1 [0-9.]+", readme)
  assert quoted and set(quoted) == {line}, f"README quotes {quoted}; a fresh run gives {line!r}"
