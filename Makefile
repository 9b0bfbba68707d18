# Two commands on a fresh machine: `make demo` runs the pipeline on the bundled example, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mira-installed
PYTEST_ARGS ?=

.PHONY: install lint test test-fast demo docs bench clean system-deps

install: $(STAMP)

# The report test opens the HTML report in headless Chromium (Debian's package).
system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	    else echo "install Chromium (e.g. sudo apt-get install chromium) for the report test"; fi; }

$(STAMP): pyproject.toml requirements/test.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel
	$(BIN)/python -m pip install -q -r requirements/test.txt
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	@touch $@

# Lint, format, types and the import contracts (layers, no circles): seconds, so `make test` runs them first.
LINTED := mira_hf tests benchmarks metrics examples
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not vllm and not server and not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/mira-hf demo

# The documentation site (MkDocs Material, API reference from the docstrings) into site/; `make test` runs the
# same strict build, and every code block of the pages.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) mira-demo site .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
