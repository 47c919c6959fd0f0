# The README's commands. Each sets up its own virtual environment first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install test test-fast demo bench lint

$(STAMP): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

demo: $(STAMP)
	$(PY) -m pipelines

bench: $(STAMP)
	$(PY) benchmarks/cells.py

lint: $(STAMP)
	$(VENV)/bin/ruff check seqkit pipelines tests benchmarks
