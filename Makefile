# Two set-up commands for a fresh machine with nothing but Python:
#   make demo   creates .venv, installs lossgap, runs the article's three experiments the right way
#   make test   creates .venv, installs lossgap with its dev extra (and Debian's chromium and postgresql
#               when missing and root), runs the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch==2.13.0 first: it is the CPU build on this disk; a looser pin would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test install install-dev clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e ".[data]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(VENV)/bin/lossgap demo --out runs/demo --overwrite

# -n auto: one pytest worker per core (pytest-xdist), each test file on one worker so its module fixtures are
# built once; tests/conftest.py gives each worker one torch thread.
test: $(VENV)/.installed-dev
	sh scripts/install_test_system_packages.sh
	$(PY) -m pytest -n auto --dist loadfile

clean:
	rm -rf $(VENV) runs
