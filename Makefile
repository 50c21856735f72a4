# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv/ on first use; pip's wheel cache makes a second install fast.
PYTHON ?= python3.11
VENV := .venv
# On a machine with an NVIDIA GPU: make setup EXTRAS=gpu,dev (never cpu and gpu together).
EXTRAS ?= cpu,dev

.PHONY: setup demo test lint stack-down

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: $(PYTHON) not found"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[$(EXTRAS)]'
	touch $@

demo: setup
	$(VENV)/bin/undertow stack up

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

stack-down: setup
	$(VENV)/bin/undertow stack down
