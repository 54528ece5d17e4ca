# make demo | make test — each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= workdirs/demo
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench mutate soundfonts pretrained clean

# `pip install -e .` (pyproject.toml; pins from requirements*.txt) also puts the instrax-launch,
# -predict, -sweep and -build commands in $(VENV)/bin.
$(VENV)/.installed: pyproject.toml requirements.txt requirements-nodeps.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) launch.py --config=configs/demo.py --workdir=$(WORKDIR)

test: install
	$(PY) -m pytest -q -n 2 --dist=loadfile $(PYTEST_ARGS)

test-all: install
	$(PY) -m pytest -q -n 2 --dist=loadfile -m "" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/bench_frontend.py
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_synthmix.py
	$(PY) bench/bench_train_step.py --threads=1 --heap --models=cnn_rnn,simple_cnn,crnn
	$(PY) bench/bench_train_step.py --threads=1 --heap --models=onsets_velocities --batch=8 \
	  --repeats=3 --layers_conv
	-$(PY) bench/profile_convs.py --threads=1
	$(PY) bench/bench_builds.py
	$(PY) bench/bench_epoch.py --clips=400 --batch=32 --repeats=3
	$(PY) bench/bench_predict.py
	$(PY) bench/bench_piano.py --seconds 60 --batch 4 --steps 3

# Sampled General-MIDI banks for synthmix/rich and synthmix/piano (Debian/Ubuntu packages;
# synthmix finds them at /usr/share/sounds/sf2 and sf3), and four banks built
# here, in /usr/local/share/sounds/sf2 (root) or ~/.local/share/sounds/sf2: TonejsInstruments,
# real recorded notes from npm packages (~30 MB download), FreePats, the `freepats` package's
# GUS patches made into a SoundFont, DIGuitar, modelled DI electric guitars, and BowedStrings,
# modelled violin-family notes (both computed, seconds; the last two, and opl3-soundfont, are
# measured in the transfer ablation, not in `rich`).
# `make demo` needs none of them.
SOUNDFONT_PACKAGES := fluid-soundfont-gm musescore-general-soundfont csound-soundfont freepats \
  opl3-soundfont
soundfonts: install
	@if [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] && \
	    [ -f /usr/share/sounds/sf3/MuseScore_General.sf3 ] && \
	    [ -f /usr/share/sounds/sf2/sf_GMbank.sf2 ] && [ -d /usr/share/midi/freepats ] && \
	    [ -f /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 ]; then \
	  echo "soundfonts: installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SOUNDFONT_PACKAGES); \
	else \
	  echo "soundfonts: run  sudo apt-get install $(SOUNDFONT_PACKAGES)"; \
	  echo "  (or put FluidR3_GM.sf2 and sf_GMbank.sf2 in /usr/share/sounds/sf2 and"; \
	  echo "  MuseScore_General.sf3 in /usr/share/sounds/sf3, or name any .sf2/.sf3 in the"; \
	  echo "  synthmix config)"; \
	fi
	$(PY) -m data_builders.synthmix.sample_bank
	$(PY) -m data_builders.synthmix.freepats --force
	$(PY) -m data_builders.synthmix.di_guitar --force
	$(PY) -m data_builders.synthmix.bowed_strings --force

# musicnn's MagnaTagATune and Million Song Dataset weights (the musicnn 0.1.0 wheel from PyPI, 29 MB,
# ISC licence), converted without TensorFlow to ~/.cache/instrax/musicnn/{MTT,MSD}_musicnn.msgpack
# for configs/instruments.py:model=musicnn (instrax/models/musicnn_convert.py).
pretrained: install
	$(PY) -m instrax.models.musicnn_convert --checkpoint=MTT_musicnn
	$(PY) -m instrax.models.musicnn_convert --checkpoint=MSD_musicnn

# Mutation testing of the core (not part of `make test`; CPU-heavy: ~5-20 min per module).
# MUTANTS selects modules, e.g. make mutate MUTANTS='instrax.metrics*'. Scope: pyproject [tool.mutmut].
MUTANTS ?= instrax.metrics* instrax.tasks* instrax.train*
mutate: install
	$(VENV)/bin/mutmut run --max-children 1 $(foreach m,$(MUTANTS),"$(m)")
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) workdirs mutants
