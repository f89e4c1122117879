# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DATA   := data

.PHONY: demo test lab lint sample clean-venv chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Write the sample cohort if missing, validate it, write every report and print where.
demo: $(STAMP)
	@test -f $(DATA)/sessions.csv || $(BIN)/adherence synth --patients 12 --days 84 --seed 7 --out $(DATA)
	$(BIN)/adherence validate $(DATA) --limit 5
	$(BIN)/adherence report $(DATA) --all --out reports
	@echo "Open $(abspath reports)/index.html in a browser (works offline)."

## Debian's Chromium for the real-browser tests (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Run the whole test suite (and ruff).
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

sample: $(STAMP)
	$(BIN)/adherence synth --patients 12 --days 84 --seed 7 --out $(DATA)

clean-venv:
	rm -rf $(VENV)
