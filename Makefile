# Each target builds its own virtual environment, so both work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

$(BIN)/synthdepth: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# constraints.txt: the exact versions the test suite last passed with (pip freeze).
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(BIN)/synthdepth

setup: $(BIN)/synthdepth

demo: setup
	$(BIN)/synthdepth demo --root demo_out

test: setup
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/capture_decode.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
