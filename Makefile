# recsys-book: two commands for a newcomer.
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run every test (unit, learning, notebooks, then the
#               real-browser test of the sliders: JupyterLab + headless Chromium)
#   make browser-test   only the real-browser test      make book   the static HTML book
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

CHROMIUM ?= /usr/bin/chromium
# make book FULL=1 executes the chapters in full mode (default: FAST)
FULL ?= 0

.PHONY: setup data lab test bench clean-venv browser-setup browser-test book \
	gpu-check check-streams

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

test: setup browser-setup
	RECSYS_BOOK_FAST=1 $(PY) -m pytest
	$(PY) -m pytest --browser tests/browser

# Debian's chromium, driven by playwright with executable_path (never `playwright install`)
browser-setup:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "the browser test needs chromium at $(CHROMIUM); run as root:"; \
		echo "    apt-get update && apt-get install -y chromium"; \
		exit 1; \
	fi

browser-test: setup browser-setup
	$(PY) -m pytest --browser tests/browser

# The static HTML book (jupyter-book 1.x, offline) in build/book/html; FULL=1 for full mode.
BOOK_STAMP := $(VENV)/.installed-book
$(BOOK_STAMP): $(STAMP)
	$(PIP) install --quiet -e '.[book]'
	@touch $@

book: setup $(BOOK_STAMP)
	$(PY) -m recsys_book.book build $(if $(filter 1,$(FULL)),--full)
	RECSYS_BOOK_CHECK_BOOK=1 $(PY) -m pytest -q tests/test_book.py

bench: setup
	$(PY) -m benchmarks

# On a CUDA machine: the unit suite and every chapter (FAST) on the GPU, one table of what
# passed. Needs no venv and no package registry: any python with torch + CUDA, numpy, pandas,
# scikit-learn and pytest (`make gpu-check GPU_PY=python3`; the chapters also need nbclient,
# ipykernel, ipywidgets, anywidget, plotly, tqdm). Without CUDA it says so and exits 0.
GPU_PY ?= $(if $(wildcard $(PY)),$(PY),python3)
gpu-check:
	PYTHONPATH=$(CURDIR) $(GPU_PY) -m recsys_book.check gpu

# Every chapter (FAST) on 5 random streams (training seeds shifted; another thread count or
# device is just another stream): a claim a chapter asserts must pass on all of them.
check-streams: setup
	$(PY) -m recsys_book.check chapters --shifts 0 1 2 3 4

clean-venv:
	rm -rf $(VENV)
