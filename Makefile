# The two commands a new machine needs: `make run` and `make test`. Everything else is a convenience.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: run test lint demo bench screenshots clean config-docs lock

$(VENV)/.installed-run: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,test]'
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
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -q tests/admin/test_console_in_browser.py tests/e2e/test_record_pages.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

config-docs: $(VENV)/.installed-run
	$(PY) -m app.config_docs --write

# requirements.lock: the exact versions the container image installs, resolved in a clean environment.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q .
	echo "# The container image's dependencies, exactly: generated from pyproject.toml by \`make lock\`." > requirements.lock
	.lock-venv/bin/pip freeze --exclude dynamics-xero-connector >> requirements.lock
	rm -rf .lock-venv
