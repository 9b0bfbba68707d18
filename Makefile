# Two commands on a fresh machine: `make demo` runs the pipeline on the bundled example, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mira-installed
PYTEST_ARGS ?=

.PHONY: install test test-fast demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/test.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel
	$(BIN)/python -m pip install -q -r requirements/test.txt
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	@touch $@

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not vllm and not server and not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/mira-hf demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) mira-demo .pytest_cache
