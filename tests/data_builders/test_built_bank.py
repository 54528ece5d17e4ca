"""Where built banks go and the command line the bank builders share (built_bank.py)."""

import pathlib

from data_builders.synthmix import built_bank


def test_default_output_is_the_first_standard_place_this_user_can_write(monkeypatch):
  writable = {pathlib.Path("/usr/local/share/sounds/sf2")}
  monkeypatch.setattr(built_bank, "_writable", lambda folder: folder in writable)
  assert built_bank.default_output("FreePats") == pathlib.Path(
      "/usr/local/share/sounds/sf2/FreePats.sf2")
  writable.clear()  # not root: the user's own folder
  assert built_bank.default_output("DIGuitar") == pathlib.Path(
      "~/.local/share/sounds/sf2/DIGuitar.sf2").expanduser()


def test_run_keeps_a_bank_unless_forced_and_reports_a_failure(tmp_path, capsys):
  out = tmp_path / "bank.sf2"
  calls = []

  def build_to(path: pathlib.Path) -> pathlib.Path:
    calls.append(path)
    path.write_bytes(b"x" * 2_000_000)
    return path

  parser = built_bank.parser("DIGuitar", "doc")
  assert built_bank.run("DIGuitar", parser.parse_args([f"--output={out}"]), build_to) == 0
  assert "DIGuitar: wrote" in capsys.readouterr().out and calls == [out]
  assert built_bank.run("DIGuitar", parser.parse_args([f"--output={out}"]), build_to) == 0
  assert "exists (--force rebuilds it)" in capsys.readouterr().out and len(calls) == 1
  forced = parser.parse_args([f"--output={out}", "--force"])
  assert built_bank.run("DIGuitar", forced, build_to) == 0 and len(calls) == 2

  def broken(path: pathlib.Path) -> pathlib.Path:
    raise ValueError("no samples")

  assert built_bank.run("DIGuitar", parser.parse_args([f"--output={out}", "--force"]), broken) == 1
  assert "error: no samples" in capsys.readouterr().err
