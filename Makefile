# One command sets up and runs the demo; one sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= edge,openvino,gates,central,train,dev

.PHONY: demo stack test lint bench setup system-deps clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed

## make demo: create .venv, install, run the edge agent on the bundled sample clip, print plates
demo: $(VENV)/.installed
	$(VENV)/bin/anpr-edge demo

## make stack: central on SQLite + the edge demo syncing through the local Mosquitto (127.0.0.1:1883);
## prints the console URL and a one-time admin password; Ctrl-C stops both
stack: $(VENV)/.installed
	$(PY) scripts/stack.py

## make test: install system test dependencies (as root), create .venv, run the whole suite
test: system-deps $(VENV)/.installed
	$(VENV)/bin/pytest

system-deps:
	bash scripts/system-deps.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
