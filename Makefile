# The two set-up commands of the README: `make run` (main job) and `make test` (tests).
# Each builds .venv from pyproject.toml when it is missing or older than pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= data/demo
STORE  ?= data/store
SCALE  ?= 1
SEED   ?= 2026

.PHONY: run test venv dashboard clean bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Main job: generate the demo region, import it into the store, run the reports of every municipality.
run: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(BIN)/workbench demo --out $(DEMO) --scale $(SCALE) --seed $(SEED)
	$(BIN)/workbench import $(DEMO)/raw --store $(STORE) --params params/regions/demo.yaml --replace
	$(BIN)/workbench run --store $(STORE) $(if $(JOBS),--jobs $(JOBS),)

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

# Dashboards for officials: Voila on 127.0.0.1 (settings in voila.json).
dashboard: $(STAMP)
	$(BIN)/workbench dashboard --store $(STORE)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_foundation.py

clean:
	rm -rf $(DEMO) $(STORE)
