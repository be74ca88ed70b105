# zcpt-analysis: `make demo` (set up + main job) and `make test` (set up + tests) work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup notebook-filter browser slurm demo lint test report clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CUDA build of torch that also runs on the CPU; pip takes it from this machine's disk where available
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[all]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)
	@$(MAKE) --no-print-directory notebook-filter

# Keep executed outputs out of the tracked notebooks: git stores notebooks/*.ipynb through
# nbstripout (.gitattributes), so running them in JupyterLab never puts outputs into a commit.
notebook-filter:
	@git rev-parse --git-dir >/dev/null 2>&1 && \
	  git config filter.nbstripout.clean "'$(abspath $(PY))' -m nbstripout --keep-id" && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv "'$(abspath $(PY))' -m nbstripout --keep-id -t" || true

demo: setup
	$(VENV)/bin/zcpt demo

# Headless Chromium for the rendered-report test (Debian package; needs root). Without it that
# test is skipped with its reason; everything else still runs.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "note: chromium not installed (needs root + apt-get); the browser test will be skipped"; }

# A real single-node SLURM for tests/test_slurm.py: Debian's slurm-wlm (slurmctld, slurmd, the clients) and
# munge; the test starts and stops the daemons itself, as root, on 127.0.0.1. Without them (not root, no
# apt-get) those tests are skipped with their reason; everything else still runs.
slurm:
	@{ command -v sbatch && { command -v munged || test -x /usr/sbin/munged; }; } >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	   slurm-wlm munge >/dev/null) || \
	  echo "note: slurm-wlm and munge not installed (needs root + apt-get); the SLURM tests will be skipped"; }

# The layer contract ([tool.importlinter] in pyproject.toml): algorithms and core never import the results
# layer or the faces, core never imports the algorithms, through any chain. `make test` runs it first, so a
# broken contract fails CI in a second, before the suite starts (tests/test_layers.py checks it again).
# No cache: the graph takes well under a second and nothing is written into the checkout.
lint: setup
	$(VENV)/bin/lint-imports --no-cache

# pytest exits non-zero on failures and with code 5 when it collects no tests: both fail `make test`.
# The suite runs on TEST_WORKERS pytest-xdist workers: one per core, at most 4 (the tests sharing the
# rendered smoke report run on one worker, ~2 minutes; more workers cannot make the run shorter).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
test: setup lint browser slurm
	$(PY) -m pytest -q -n $(TEST_WORKERS)

report: setup
	$(VENV)/bin/zcpt report

clean:
	rm -rf $(VENV) runs .pytest_cache
