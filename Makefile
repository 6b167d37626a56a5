# Set-up and everyday entry points. Every target creates .venv from pyproject.toml if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
#: Exact versions and sha256 hashes of every dependency, for every platform (refresh with `make lock`).
LOCK   := requirements.lock

.PHONY: venv demo test test-fast test-torch lint format bench lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the locked dependencies, every file checked against its hash; then the project itself with no
	# dependency resolved (pip's hash-checking mode refuses an editable project in the same call)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	# editable_mode=compat puts the repository on sys.path (a .pth entry) instead of an import
	# hook, so the module neural_pile_rodent.py is found before a built dataset folder of the
	# same name in the current directory (which would otherwise import as an empty namespace).
	# setuptools answers compat mode with a boxed "transitional" notice on every install; the mode
	# is chosen on purpose (above), so that one notice is silenced by its text.
	PYTHONWARNINGS="ignore:Compat editable installs" \
	$(BIN)/python -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

## demo: write the synthetic recordings, build them, print the token table, save a raster figure
demo: $(STAMP)
	RAY_USAGE_STATS_ENABLED=0 $(BIN)/neural-pile demo

## test: the whole offline suite (loopback servers and a local Ray only) in one pytest run on three
## worker processes (pytest-xdist, --dist loadgroup): the tests that share one Ray (tests/conftest.py,
## group `shared_ray`) run one after another on one worker, the README's Ray recipe (its own heads)
## on another, the rest wherever a worker is free. Those two mostly wait on Ray (job start-up, its
## one-second polls), so a third worker keeps both cores busy meanwhile; the Ray tests come first.
## The workers outnumber the cores, so per-process thread pools would only contend for them:
## OMP_NUM_THREADS=1 gives numpy's OpenBLAS (the tokenizer's nearest-motif products) and Arrow's CPU
## pool (pyarrow.cpu_count()) one thread each.
TEST_ENV := RAY_USAGE_STATS_ENABLED=0 DANDI_NO_ET=1 OMP_NUM_THREADS=1
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 3 --dist loadgroup

## test-fast: the edit loop: the suite without the Ray, wide-area and run-the-README tests (markers
## `ray`, `wan`, `readme`), on both cores
test-fast: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 -m "not ray and not wan and not readme"

## test-torch: the stream tests with a real torch DataLoader and torchdata's StatefulDataLoader, in a
## separate venv (.venv-torch: the package's locked dependencies plus torch and torchdata; torch is no
## dependency of the package or of the main test env)
TORCH_VENV := .venv-torch
TORCH_STAMP := $(TORCH_VENV)/.torch-installed-stamp
$(TORCH_STAMP): pyproject.toml $(LOCK)
	$(MAKE) --no-print-directory venv VENV=$(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0 torchdata
	$(TORCH_VENV)/bin/python -c "from torchdata.stateful_dataloader import StatefulDataLoader"
	touch $(TORCH_STAMP)

test-torch: $(TORCH_STAMP)
	RAY_USAGE_STATS_ENABLED=0 DANDI_NO_ET=1 $(TORCH_VENV)/bin/python -m pytest -q tests/test_streams.py $(wildcard tests/test_stream_*.py)

## bench: the side-by-side benchmarks (ratios against the reference methods), then the README table
## from their results (refreshed even when a benchmark failed: that one then reads "not measured")
bench: $(STAMP)
	status=0; RAY_USAGE_STATS_ENABLED=0 DANDI_NO_ET=1 $(BIN)/python benchmarks/run_all.py || status=$$?; \
	$(BIN)/python benchmarks/report.py --write && exit $$status

## lint: ruff's lint rules and format check, and the import contracts of pyproject.toml's
## [tool.importlinter] (layers; no cycle inside a package) (what .ci/run runs before the tests)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## typecheck: mypy on the packages listed in pyproject.toml's [tool.mypy] (what .ci/run runs after lint)
.PHONY: typecheck
typecheck: $(STAMP)
	$(BIN)/mypy

## lock: resolve pyproject.toml's dependencies and test extra for every platform and Python >= 3.11
## with uv (in a scratch venv), keeping the versions already in requirements.lock where they still
## fit, and write them with the sha256 hash of every file the package index has for each
## (`make lock UPGRADE=--upgrade` moves every package to its newest fitting release)
UV_VERSION := 0.13.8
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet uv==$(UV_VERSION)
	.lock-venv/bin/uv --quiet pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes $(UPGRADE) -o $(LOCK)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(TORCH_VENV) neural_pile_rodent demo_data .pytest_cache
