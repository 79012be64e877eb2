# Two commands on a fresh clone: `make demo` and `make test`. Everything else they need is built
# here, so nothing installed by hand is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint system-deps clean

# torch is pinned in pyproject.toml to the CPU build cached on these machines (DESIGN.md).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/yuqing demo

# PostgreSQL comes from Debian: the store's tests run against a real server.
system-deps:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "PostgreSQL tests need: sudo apt-get install postgresql" >&2; fi

test: $(STAMP) system-deps
	$(BIN)/ruff check pipeline crawlers models tests
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not slow"

clean:
	rm -rf $(VENV) var build *.egg-info
