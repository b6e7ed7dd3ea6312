# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo   — creates .venv, installs syncd, runs the whole pipeline on sample data
#   make test   — creates .venv if missing, installs with test extras, runs the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/syncd demo --keep demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	@if [ -f benchmarks/bench_gmail.py ]; then $(BIN)/python benchmarks/bench_gmail.py; fi

clean:
	rm -rf $(VENV) demo-out build *.egg-info .pytest_cache .hypothesis
