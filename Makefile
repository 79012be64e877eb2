# Two commands on a fresh clone: `make demo` and `make test`. Everything else they need is built
# here, so nothing installed by hand is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint artifacts system-deps clean

# torch comes from PyPI as its CUDA build (about 2.7 GB of wheels; it runs on the CPU too). The
# first install downloads it once into pip's cache: about 2.5 minutes on a 2-core machine.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The corrector's language model: an artifact built from packaged text (about a minute, once).
artifacts: $(STAMP)
	$(BIN)/yuqing build corrector-lm

demo: artifacts
	$(BIN)/yuqing demo

# PostgreSQL comes from Debian: the store's tests run against a real server.
system-deps:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL tests need: sudo apt-get install postgresql" >&2; fi

lint: $(STAMP)
	$(BIN)/ruff check pipeline crawlers models devkit tests

test: artifacts system-deps lint
	$(BIN)/python -m pytest

test-fast: artifacts
	$(BIN)/python -m pytest -m "not integration and not slow"

clean:
	rm -rf $(VENV) var build *.egg-info
