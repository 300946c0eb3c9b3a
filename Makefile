# vertebro: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: demo test test-sqlite test-postgres serve bench install clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vertebro demo

test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	DATABASE_URL= $(BIN)/pytest

# The same database tests again on a real PostgreSQL. Skipped loudly when it is
# unreachable, unless VERTEBRO_REQUIRE_POSTGRES=1 (as in .ci/run) makes that an error.
test-postgres: $(STAMP)
	VERTEBRO_TEST_POSTGRES=1 DATABASE_URL=$(PG_URL) $(BIN)/pytest -m database

serve: $(STAMP)
	$(BIN)/vertebro serve

bench: $(STAMP)
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var/*.sqlite3* build *.egg-info
