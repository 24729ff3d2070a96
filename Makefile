# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck messages bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yingji run --demo --host $${YINGJI_HOST:-127.0.0.1} --port $${YINGJI_PORT:-8000}

test: $(STAMP)
	scripts/install-system-deps
	$(BIN)/ruff check yingji tests benchmarks scripts
	$(BIN)/mypy yingji
	$(BIN)/python -m pytest
	$(BIN)/python scripts/with_postgres.py $(BIN)/python -m pytest -m "not browser and not sqlite_only"

lint: $(STAMP)
	$(BIN)/ruff check yingji tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy yingji

# Re-extract and compile the zh_Hans catalog (needs gettext's xgettext); the results are committed.
messages: $(STAMP)
	cd yingji && ../$(BIN)/yingji manage makemessages -l zh_Hans --no-obsolete --add-location file
	$(BIN)/python scripts/compile_messages.py

bench: $(STAMP)
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/pages.py

clean:
	rm -rf $(VENV) data
