# recsys-book: two commands for a newcomer.
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run every test (unit, learning, notebooks)
# Both are safe to run again: nothing is reinstalled unless pyproject.toml changed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0
PORT   ?= 8888
# jupyter refuses to run as root without --allow-root
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

.PHONY: setup data lab test test-fast bench clean-venv

setup: $(STAMP) data

# Torch first, with its exact pin: any looser spec would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "recsys-book needs Python >= 3.10 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[test]'
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
		> $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

data: $(STAMP)
	$(PY) -m recsys_book data fetch ml-100k

lab: setup
	$(VENV)/bin/jupyter lab notebooks/ --port=$(PORT) $(ROOT_FLAG)

test: setup
	RECSYS_BOOK_FAST=1 $(PY) -m pytest

bench: setup
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
