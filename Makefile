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

# One pytest run on two workers: the unit tests (the notebooks with other seeds among them), then
# every course notebook and solution notebook through nbval (exercises/ are checked by the grading
# tests instead). --dist loadfile keeps each notebook's cells in one worker, in order.
NBVAL := --nbval --nbval-sanitize-with notebooks/nbval_sanitize.cfg
test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest tests notebooks solutions $(NBVAL) -n 2 --dist loadfile

# Only the stored outputs of the notebooks and solutions (nbval), e.g. under another BLAS kernel:
# OPENBLAS_CORETYPE=Sandybridge make test-notebooks
test-notebooks: $(STAMP)
	$(BIN)/python -m pytest notebooks solutions $(NBVAL) -n 2 --dist loadfile -p no:cacheprovider

# `make lab LAB_LANG=zh`: JupyterLab's menus in Chinese (the optional `zh` extra, jupyterlab-language-pack-zh-CN)
# on the Chinese notebooks in notebooks/zh/; the locale is kept in a settings folder inside .venv.
LAB_LANG ?= en
LAB_ZH_SETTINGS := $(CURDIR)/$(VENV)/lab-user-settings-zh
lab: $(STAMP)
ifeq ($(LAB_LANG),zh)
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[zh]"
	mkdir -p "$(LAB_ZH_SETTINGS)/@jupyterlab/translation-extension"
	printf '{"locale": "zh_CN"}\n' > "$(LAB_ZH_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings"
	JUPYTERLAB_SETTINGS_DIR="$(LAB_ZH_SETTINGS)" $(BIN)/adaprune-edu lab --dir notebooks/zh
else
	$(BIN)/adaprune-edu lab
endif

lint: $(STAMP)
	$(BIN)/python -m ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
