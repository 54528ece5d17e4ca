# make demo | make test — each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= workdirs/demo
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench clean

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

clean:
	rm -rf $(VENV) workdirs
