# The README's two commands: `make up` runs the whole cloud, `make test` runs the whole suite.
# Each installs what it needs: a virtualenv with the project, and (when root) the Debian packages
# of the external clients the tests drive.

VENV ?= .venv
PYTHON ?= python3
BIN := $(CURDIR)/$(VENV)/bin
APT_PACKAGES := rclone s3cmd curl tgt libiscsi-bin qemu-utils qemu-block-extra lvm2 postgresql xfsprogs btrfs-progs
TEST_WORKERS ?= 3

.PHONY: install system-deps up test conformance lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: please install$$missing (tests needing them are skipped outside CI)"; fi; \
	fi

up: install
	$(BIN)/stackstore up $(UP_ARGS)

test: install system-deps lint
	PATH=$(BIN):$$PATH $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
	$(BIN)/python conformance/run.py

# Swift's own functional suite (pinned Swift sdist, in .conformance-venv) against a fresh `stackstore up`,
# held to conformance/known_failures.txt and known_skips.txt. CONFORMANCE_ARGS: pytest selectors.
conformance: install
	$(BIN)/python conformance/run.py $(CONFORMANCE_ARGS)

# ruff (pyproject [tool.ruff]) and mypy on the packages in pyproject [tool.mypy] files.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	PATH=$(BIN):$$PATH $(BIN)/python -m bench.swift_load $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .conformance-venv .conformance-venv.lock .conformance-run
