# helpapi: `make run` installs, indexes the bundled corpus and serves; `make test` lints and tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format index install compile vendor system-deps bench clean

run: install index
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install compile vendor lint
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

index: install compile
	$(BIN)/helpapi index build

install: $(VENV)/.installed

# helpapi's bytecode, written here: with PYTHONDONTWRITEBYTECODE set (as in many environments,
# and the image's), Python never writes it, so every process (the CLI, each build worker, each
# gunicorn worker, each test subprocess) compiled the sources again (~0.1 s CPU each). Stale
# files are harmless: Python checks each against its source. The image's pip install writes
# its own.
compile: install
	$(BIN)/python -m compileall -q helpapi

# PyICU compiles against the system ICU: Debian's libicu-dev and pkg-config.
system-deps:
	@pkg-config --exists icu-uc 2>/dev/null || { \
	  echo "installing libicu-dev and pkg-config with apt"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config libicu-dev; }

$(VENV)/.installed: pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# axe-core (the accessibility checker of tests/test_widget_v2.py) from npm, into the git-ignored
# tests/vendor/: a test-time dependency only, never shipped with the widget.
AXE_VERSION ?= 4
vendor: tests/vendor/axe.min.js

# Without npm the axe tests skip (and fail in CI, which installs npm).
tests/vendor/axe.min.js:
	@if ! command -v npm >/dev/null; then echo "npm not found: no axe-core, its tests will skip"; \
	else mkdir -p tests/vendor && cd tests/vendor && rm -f axe-core-*.tgz \
	  && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
	  && tar -xzf axe-core-*.tgz --strip-components=1 package/axe.min.js package/LICENSE \
	  && rm axe-core-*.tgz; fi

# Regenerates the head of bench/RESULTS.md at this commit (bench/README.md).
bench: install
	$(BIN)/python bench/regen.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info tests/vendor
