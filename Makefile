# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DATA   := data

.PHONY: demo test lab lint sample clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Write the sample cohort if missing, validate it and print where the output is.
demo: $(STAMP)
	@test -f $(DATA)/sessions.csv || $(BIN)/adherence synth --patients 12 --days 84 --seed 7 --out $(DATA)
	$(BIN)/adherence validate $(DATA)
	@echo "Sample data: $(abspath $(DATA))"

## Run the whole test suite (and ruff).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

sample: $(STAMP)
	$(BIN)/adherence synth --patients 12 --days 84 --seed 7 --out $(DATA)

clean-venv:
	rm -rf $(VENV)
