# Two commands a new user needs: `make run` and `make test`. Both build .venv/ from the pinned constraints.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: install
	$(BIN)/papers run

test: install
	$(BIN)/python -m pytest

N ?= 100000 1000000 3000000
bench: install
	$(BIN)/python -m flows.bench --records $(N) --out bench/results/latest.json

clean:
	rm -rf $(VENV) .pytest_cache
