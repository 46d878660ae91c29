# TenFour: the README's two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Run the suite against PostgreSQL with: make test TENFOUR_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1/test
PYTEST_ARGS ?=
export TENFOUR_TEST_DATABASE_URL

.PHONY: demo test install install-test chromium lint bench clean help

help:
	@echo "make demo   - install, migrate, seed a synthetic clinic network and serve it on http://$(HOST):$(PORT)"
	@echo "make test   - install test tools (Chromium from Debian included) and run the whole suite"
	@echo "make lint   - ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency files change. constraints.txt pins the whole tree.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Browser tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Chromium from Debian (needed by the browser tests)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; \
	fi

demo: install
	$(BIN)/tenfour demo --host $(HOST) --port $(PORT)

test: install-test chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check $(wildcard src tests migrations bench)

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
