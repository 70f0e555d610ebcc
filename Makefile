# genodeep: two commands set everything up on a fresh machine.
#   make demo   create .venv, install, run the whole workflow on shipped data, write demo-report/
#   make test   create .venv, install, run the test suite
#   make docs   install the docs extra, execute the tutorials, build the site offline into site/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of torch is pinned and installed first, so that no other package pulls a CUDA build.
TORCH_PIN := torch==2.13.0

.PHONY: demo test lint bench clean install docs

$(BIN)/genodeep: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	# weight files of the published models (SpliceAI, MMSplice) for the import tests; no TensorFlow
	$(BIN)/python -m pip install --quiet spliceai==1.3.1 mmsplice==2.4.0 --no-deps
	@touch $@

install: $(BIN)/genodeep

demo: install
	$(BIN)/genodeep demo --out demo-report

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install
	$(BIN)/python -m pip install --quiet tangermeme scvi-tools  # peers timed by the benchmarks
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

# The site: reference pages generated from the code and tutorials executed (scripts/gen_docs.py, a mkdocs
# hook); offline (no web fonts or CDN scripts); a warning or a notebook cell error fails the build.
docs: install
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --clean --site-dir site

clean:
	rm -rf $(VENV) demo-report build src/*.egg-info .pytest_cache
