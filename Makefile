# Every target creates and uses the local virtual environment `.venv` by itself:
# on a fresh clone `make demo` and `make test` need nothing but Python >= 3.11.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.DEFAULT_GOAL := help
.PHONY: help demo test lint typecheck pytest bench dist release-check publish-local clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ environment
$(VENV)/.stamp-base: pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found " + sys.version.split()[0] + "); run make PYTHON=python3.11 ...")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e .
	@touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(PIP) install -e '.[test,lint,release]'
	@touch $@

$(VENV)/.stamp-bench: $(VENV)/.stamp-base
	$(PIP) install -e '.[bench]'
	@touch $@

# ------------------------------------------------------------------ the two commands of the README
demo: $(VENV)/.stamp-base  ## run the main example: train a classifier end to end
	$(PY) examples/train_classifier.py

test: lint typecheck pytest  ## lint, type-check and run the whole test suite with coverage

# ------------------------------------------------------------------ the steps of `make test`
lint: $(VENV)/.stamp-test  ## ruff check and ruff format --check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.stamp-test  ## mypy --strict on src/
	$(PY) -m mypy --strict src

pytest: $(VENV)/.stamp-test  ## the test suite and the doctests of src/, with branch coverage
	$(PY) -m pytest --cov --cov-branch --cov-report=term-missing --cov-fail-under=90 \
		--doctest-modules src/ml_infra_utils tests

# ------------------------------------------------------------------ speed
bench: $(VENV)/.stamp-test $(VENV)/.stamp-bench  ## benchmarks against the peer libraries; writes docs/benchmarks.md
	$(PY) benchmarks/run_all.py

# ------------------------------------------------------------------ release
dist: $(VENV)/.stamp-test  ## build sdist and wheel into dist/ and run twine check --strict
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

release-check: $(VENV)/.stamp-test  ## build, inspect the wheel, and test it installed on every pyenv CPython
	$(PY) scripts/release_checks.py

publish-local: $(VENV)/.stamp-test  ## serve dist/ as a local index and pip-install the package from it
	$(PY) scripts/publish_local.py

clean:  ## remove the venv, build output and caches
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis .coverage .coverage.* htmlcov coverage.xml
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
