# The two commands: `make run` serves the bundled transcript, `make test` runs every check.
# Each creates .venv, installs, prepares the model and builds the index when missing,
# and is quick when all that is already done.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch's CPU wheel; installed first so that nothing pulls a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: run test install model index lint typecheck pytest eval bench clean

run: model
	$(BIN)/qa serve

test: model lint typecheck pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

model: install
	$(BIN)/qa model prepare

index: model
	$(BIN)/qa index

lint: install
	$(BIN)/ruff check qa tests scripts
	$(BIN)/ruff format --check qa tests scripts

typecheck: install
	$(BIN)/mypy --strict qa

pytest: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) index/CURRENT index/build-* .mypy_cache .ruff_cache .pytest_cache

# The Docker image, built and run with buildah, as root, with no Docker engine (docs/docker.md).
.PHONY: docker-check
docker-check:
	bash scripts/docker-check
