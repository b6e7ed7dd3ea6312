# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo      — creates .venv, installs syncd, runs the whole pipeline on sample data
#   make test      — creates .venv if missing, installs with test extras, runs the fast tier
# and for the rest:
#   make test-all  — every test, the real servers (Dovecot, Radicale, Chromium) included
#   make lint      — ruff and mypy with the settings in pyproject.toml
#   make bench     — the benchmarks; results go to docs/benchmarks.md by hand
#   make man       — regenerate docs/syncd.1 from the CLI's parser (tests/test_manpage.py checks it)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench man install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/syncd demo --keep demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q --timeout=600

lint: $(STAMP)
	$(BIN)/ruff check syncd tests benchmarks tools
	$(BIN)/ruff format --check syncd tests benchmarks tools
	$(BIN)/mypy syncd

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_mail.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_gmail.py
	$(BIN)/python benchmarks/bench_imap.py
	$(BIN)/python benchmarks/bench_report.py

man: $(STAMP)
	$(BIN)/python tools/manpage.py > docs/syncd.1.tmp && mv docs/syncd.1.tmp docs/syncd.1

clean:
	rm -rf $(VENV) demo-out build *.egg-info .pytest_cache .hypothesis
