# The two commands a new machine needs: `make run` and `make test`. Everything else is a convenience.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: run test lint demo bench screenshots clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	tests/browser/ensure_chromium.sh
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(PY) -m app.launcher

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: $(VENV)/.installed-run
	$(PY) -m sandbox.demo

bench: $(VENV)/.installed-test
	$(PY) -m benchmarks

screenshots: $(VENV)/.installed-test
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/admin/test_console_in_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
