# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DATA   := data

.PHONY: demo test lab lint sample clean-venv chromium app

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
	$(BIN)/python -m pytest --hypothesis-profile=ci

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

sample: $(STAMP)
	$(BIN)/adherence synth --patients 12 --days 84 --seed 7 --out $(DATA)

clean-venv:
	rm -rf $(VENV)

## The therapist review as a web app without code (Voila) on http://127.0.0.1:8866
## (loopback only). "Export report" links are served from reports/ only.
APP_PORT ?= 8866
app: $(STAMP)
	ANALYTICS_APP_ROOT=$(CURDIR) $(BIN)/voila notebooks/therapist_review.ipynb \
	  --no-browser --Voila.ip=127.0.0.1 --port=$(APP_PORT) --Voila.root_dir=$(CURDIR) \
	  --VoilaConfiguration.file_allowlist="['reports/[^/]+\.html']"
