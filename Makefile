# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and
# install the package with everything it needs first.
PYTHON ?= python3
# The tested versions (constraints.txt) by default, so a classroom gets the environment the
# notebooks were run in; `make venv CONSTRAINTS=` installs the newest versions pyproject allows.
CONSTRAINTS ?= constraints.txt
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-notebooks lab lint bench clean venv

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/adaprune-edu demo

# One pytest run: the unit tests, then every course notebook and solution notebook
# through nbval (exercises/ are checked by the grading tests instead).
NBVAL := --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg
test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest tests notebooks solutions $(NBVAL)

# Only the stored outputs of the notebooks and solutions (nbval), e.g. under another BLAS kernel:
# OPENBLAS_CORETYPE=Sandybridge make test-notebooks
test-notebooks: $(STAMP)
	$(BIN)/python -m pytest notebooks solutions $(NBVAL) -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/adaprune-edu lab

lint: $(STAMP)
	$(BIN)/python -m ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
