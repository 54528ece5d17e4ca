# make demo | make test — each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= workdirs/demo
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench mutate clean

$(VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
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

# Mutation testing of the core (not part of `make test`; CPU-heavy: ~5-20 min per module).
# MUTANTS selects modules, e.g. make mutate MUTANTS='instrax.metrics*'. Scope: pyproject [tool.mutmut].
MUTANTS ?= instrax.metrics* instrax.tasks* instrax.train*
mutate: install
	$(VENV)/bin/mutmut run --max-children 1 $(foreach m,$(MUTANTS),"$(m)")
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) workdirs mutants
