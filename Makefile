# gradscope: build, test and reproduce.
#
#   make demo               train fnn on MNIST briefly, dump gradients, vmf-kappa, plot (minutes)
#   make reproduce-table1   the vMF study's Table 1 and Figure 8 (results/)
#   make reproduce-vmf-figures
#                           the vMF study's Figures 2(a), 3, 5 and 6 sized for a CPU (VMF_FULL=1: the paper's)
#   make reproduce-walk-table1, reproduce-walk-figures
#                           the walk study's Table 1 (MLP row) and Figures 5 and 7 in small
#   make reproduce-gaussianity
#                           the Gaussianity study's Tables 1-2 / Figure 2 (CIFAR-10 where present, else MNIST,
#                           Fashion-MNIST and synthetic 3x32x32 data; FULL=1: the paper's sizes)
#   make reproduce-structure-table2, reproduce-structure-spectra, reproduce-structure-fcn,
#   make reproduce-structure-lnn
#                           the structure study's Table 2, Tables 1, 4, 5 / Figure 1, Table 6 and Table 7
#                           (FULL=1: the paper's sizes)
#   make example-transformer
#                           your own model: a small transformer from a PyTorch script, its gradients
#                           via TorchScript + --inputs, kappa, normality and spectrum tables (minutes)
#   make test               every test (unit, CLI, end-to-end, the Python package's pytest suite; the fuzz tests
#                           with their default budgets)
#   make fuzz               the readers' fuzz tests for longer (FUZZ_CASES=N cases each, default 100000)
#   make test-slurm         the Slurm job-array scripts (scripts/cluster/) on a one-node Slurm started
#                           here from Debian's packages (installed when missing; root)
#
# `make setup` creates the project's Python environment (.venv) with torch==2.13.0 from
# PyPI, which provides libtorch for the tch crate (LIBTORCH_USE_PYTORCH=1), and the
# reference packages the benchmarks compare against. Every target that needs it depends
# on it, so a fresh machine needs nothing but `make`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
CARGO ?= cargo
RELEASE := target/release

# tch finds libtorch through the virtual environment's Python.
export LIBTORCH_USE_PYTORCH := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export GRADSCOPE_DATA_MIRROR ?= $(abspath ../shared/data)

STATS_BINS := vmf-kappa vmf-null synth-grads

.PHONY: help setup build test fuzz lint fmt bench demo example-transformer reproduce-table1 reproduce-vmf-figures reproduce-walk-table1 reproduce-walk-figures reproduce-edge-of-stability reproduce-gaussianity reproduce-structure-table2 reproduce-structure-spectra reproduce-spectra-side-by-side reproduce-noise-scale clean data
help:
	@echo "make setup             Python environment with torch 2.13.0 (libtorch) and the reference packages"
	@echo "make build             release binaries in $(RELEASE)/"
	@echo "make test              all tests"
	@echo "make fuzz              the readers' fuzz tests, FUZZ_CASES=N cases each (default 100000; make test runs a few thousand)"
	@echo "make test-slurm        scripts/cluster/ on a real one-node Slurm started by the test (apt-get installs slurm-wlm, munge when missing; root)"
	@echo "make lint              rustfmt --check and clippy -D warnings"
	@echo "make demo              train fnn on MNIST briefly, dump gradients, vmf-kappa, plot kappa (a few minutes)"
	@echo "make example-transformer  your own model: a small GPT on README's bytes via TorchScript + --inputs, then vmf-kappa, normtest, powerlaw-fit (results/examples/transformer)"
	@echo "make reproduce-table1  the vMF study's Table 1 and Figure 8 into results/"
	@echo "make reproduce-vmf-figures  the vMF study's Figures 2(a), 3, 5, 6 on a CPU (~16 min on 2 cores; VMF_FULL=1 the paper's size, DEVICE=cuda)"
	@echo "make reproduce-walk-table1   the walk study's Table 1, MLP row: barriers in epochs 1, 10, 25 (FULL=1: whole training set; DEVICE=cuda)"
	@echo "make reproduce-walk-figures  the walk study's Figures 5 and 7 in small (MLP on 10,000 MNIST images)"
	@echo "make reproduce-edge-of-stability  sharpness over full-batch descent against 2/lr (Cohen et al. 2021, Figure 1; MLP on 5,000 MNIST images, ~20 min)"
	@echo "make reproduce-noise-scale   the critical batch size (McCandlish et al. 2018): steps and examples to a target loss at B = 16..4096, B_crit beside B_simple over training (MLP and fnn on MNIST; FULL=1: lower target)"
	@echo "make reproduce-gaussianity   the Gaussianity study's Tables 1-2, Figure 2: Gaussian % per layer vs batch size (~8 min on 2 cores; FULL=1 the paper's sizes, DEVICE=cuda)"
	@echo "make reproduce-structure-table2   the structure study's Table 2: Gaussian and power-law rates, iteration- vs dimension-wise (~21 min; FULL=1: T = 5,000)"
	@echo "make reproduce-structure-spectra  the structure study's Tables 1, 4, 5 and Figure 1: eigengap and spectrum power laws (~27 min; FULL=1: T = 5,000, batch sizes to 10,000)"
	@echo "make reproduce-structure-fcn  the structure study's Table 6: second-moment spectra of FCNs of widths 70/30/10, one and two layers, B = 10 (~21 min under load; FULL=1: T = 5,000)"
	@echo "make reproduce-structure-lnn  the structure study's Table 7: second-moment spectra of the 4-layer linear network, plain, BatchNorm, ReLU (~12 min under load; FULL=1: T = 5,000)"
	@echo "make reproduce-structure-table3  the structure study's Table 3: ResNet-18, B = 100, dimension- vs iteration-wise, random and pretrained (~45 min; FULL=1: 200 epochs of pretraining)"
	@echo "make reproduce-spectra-side-by-side  per layer of lenet and fcn on MNIST, at init and after 1 epoch: power laws of the gradient covariance, Hessian block and weight spectra (~15 min; FULL=1: 50 epochs, bigger)"
	@echo "make reproduce-walk-figure4   the walk study's Figure 4 for the MLP: barriers per epoch over 40 epochs (loss on 200 images; FULL=1: 60,000)"
	@echo "make reproduce-vmf-snr        the vMF study's Figure 7 / appendix G: SNR, normSNR, kappa-hat over training (CIFAR-10 if present, else Fashion-MNIST)"
	@echo "make reproduce-all     every reproduction above, then the report (estimated 3 h 10 min on 2 cores)"
	@echo "make report            results/REPORT.md from the committed results: every row beside the paper's, with a verdict"
	@echo "make data              MNIST and Fashion-MNIST into data/raw/ (DATASETS=\"cifar10 cifar100\" for CIFAR), md5-verified"
	@echo "make bench             benchmarks against the Python peers (figures on stderr and in results/bench/; BENCH=\"normtest walk\" for some sections)"

setup: $(VENV)/.installed $(VENV)/.gradscope-python

$(VENV)/.installed: scripts/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-cache-dir -r scripts/requirements.txt
	touch $@

# The Python package (python/, `import gradscope`), editable: its dependencies (torch,
# numpy, pyarrow) are the requirements above.
$(VENV)/.gradscope-python: $(VENV)/.installed python/pyproject.toml
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps -e ./python
	touch $@

build: setup
	$(CARGO) build --release --workspace --bins

# One dev-profile build (optimised, see Cargo.toml) serves the unit tests, the CLI tests
# and the end-to-end pipeline.
test: setup
	$(CARGO) test --workspace
	GRADSCOPE_BIN=target/debug bash tests/pipeline.sh
	GRADSCOPE_BIN=target/debug $(PY) scripts/check_results_open.py
	$(PY) scripts/check_summaries.py
	rc=0; GRADSCOPE_BIN=target/debug $(PY) -m pytest -q python/tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests from python/tests" >&2; fi; exit $$rc

# Seeded mutations of valid files (tests/fuzz/mutate.rs) through the gradient-matrix
# readers, the CSV/Parquet column reader and the checkpoint loader: deterministic for a
# given FUZZ_CASES; crashing inputs are kept in target/fuzz-crashes/.
FUZZ_CASES ?= 100000
fuzz: setup
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --workspace --test fuzz_readers -- --nocapture
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --workspace --test fuzz_read_column -- --nocapture
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --workspace --test fuzz_checkpoint -- --nocapture

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

reproduce-table1: build
	mkdir -p results
	$(RELEASE)/vmf-null table1 --method walk -o results/table1.csv
	$(RELEASE)/vmf-null table1 --method direct --networks cnn --expected-runs 0 -o results/table1-direct.csv
	$(RELEASE)/vmf-null figure8 -o results/figure8.csv --plot results/figure8.png

demo: build data
	bash scripts/demo.sh

# A PyTorch model of one's own (scripts/examples/transformer/): trained by a Python
# script, saved as TorchScript with its token windows, measured by the tools.
example-transformer: build
	bash scripts/examples/transformer/run.sh

reproduce-vmf-figures: build data
	bash scripts/vmf/figures.sh

# The walk study (scripts/walk/*.sh say what each runs and why it is sized so). FULL=1
# evaluates the interpolations on the whole training set, as the paper; DEVICE=cuda runs
# on a GPU.
reproduce-walk-table1: build
	bash scripts/walk/table1.sh

reproduce-walk-figures: build
	bash scripts/walk/figures.sh

# The edge of stability (Cohen et al. 2021, Figure 1 in small): full-batch descent of the
# walk MLP on 5,000 MNIST images with the sharpness tracked by `train --sharpness-every`
# (scripts/eos/edge_of_stability.sh says how it is sized; EOS_LRS, EOS_STEPS, FULL=1).
reproduce-edge-of-stability: build data
	bash scripts/eos/edge_of_stability.sh

# The critical batch size (McCandlish et al. 2018, section 2.2): steps and examples to a
# target training loss at batch sizes 16 to 4,096 with the learning rate searched per
# batch size, the fit of (S/S_min - 1)(E/E_min - 1) = 1, and B_simple from `dump-grads |
# noise-scale` over training (scripts/noise_scale/critical_batch.sh says how it is sized;
# FULL=1, NS_TARGET, NS_BATCHES, NS_MODELS).
reproduce-noise-scale: build data
	bash scripts/noise_scale/critical_batch.sh

# The Gaussianity and structure studies (scripts/normality/, scripts/structure/ say what
# each runs, on which data, at which epoch, and how it is sized). FULL=1: the papers' sizes;
# DEVICE=cuda runs on a GPU.
reproduce-gaussianity: build data
	bash scripts/normality/gaussianity.sh

reproduce-gaussianity-resnet: build data
	bash scripts/normality/resnet.sh

reproduce-structure-table2: build data
	bash scripts/structure/table2.sh

reproduce-structure-spectra: build data
	bash scripts/structure/spectra.sh

# Gradient covariance, Hessian (per layer: hessian-align --blocks layer) and weight spectra
# of the same layers side by side (scripts/spectra/side_by_side.sh says what it runs).
reproduce-spectra-side-by-side: build data
	bash scripts/spectra/side_by_side.sh

# Tables and figures added to the studies' reproductions (each script says what it runs,
# on which data and at which size).
reproduce-structure-fcn: build data
	bash scripts/structure/table6.sh

reproduce-structure-lnn: build data
	bash scripts/structure/table7.sh

reproduce-structure-table3: build data
	bash scripts/structure/table3.sh

reproduce-walk-figure4: build data
	bash scripts/walk/figure4.sh

reproduce-vmf-snr: build data
	bash scripts/vmf/snr.sh

# Every reproduction, one after the other, then the report. The time is the sum of the
# targets' measured times on 2 cores (README's table), an estimate.
REPRODUCTIONS := reproduce-table1 reproduce-vmf-figures reproduce-vmf-snr reproduce-walk-table1 \
	reproduce-walk-figures reproduce-walk-figure4 reproduce-gaussianity reproduce-gaussianity-resnet reproduce-structure-table2 \
	reproduce-structure-spectra reproduce-structure-fcn reproduce-structure-lnn reproduce-structure-table3
.PHONY: reproduce-all report test-readme reproduce-structure-table3 reproduce-gaussianity-resnet reproduce-structure-fcn reproduce-structure-lnn reproduce-walk-figure4 reproduce-vmf-snr
reproduce-all: $(REPRODUCTIONS)
	$(PY) scripts/report/report.py

# results/REPORT.md from the committed result tables and scripts/papers/*.csv (seconds).
report: setup
	$(PY) scripts/report/report.py

# README's shell examples, run on small inputs (tests/readme_blocks.sh says how), and the
# papers' values in scripts/papers/ checked against the study texts where they are
# (../shared/papers); part of `make test` through the prerequisite below.
STUDY_TEXTS ?= ../shared/papers
test: test-readme
test-readme: setup
	$(CARGO) build --workspace --bins
	GRADSCOPE_BIN=target/debug bash tests/readme_blocks.sh
	if [ -d $(STUDY_TEXTS) ]; then $(PY) scripts/papers/check.py $(STUDY_TEXTS); \
	else echo "skip: the study texts are not in $(STUDY_TEXTS); scripts/papers/*.csv not checked"; fi

# The cluster scripts (scripts/cluster/): the local driver runs the Slurm array's steps
# without Slurm (41 s on 2 loaded cores; part of `make test`); test-slurm submits them to a real
# one-node Slurm that the test starts and stops (not in `make test`: it needs root and
# installs packages).
.PHONY: test-cluster test-slurm
test: test-cluster
test-cluster: setup
	$(CARGO) build --workspace --bins
	GRADSCOPE_BIN=target/debug PY=$(abspath $(PY)) bash scripts/cluster/test_local.sh

test-slurm: setup
	$(CARGO) build --workspace --bins
	GRADSCOPE_BIN=target/debug PY=$(abspath $(PY)) bash scripts/cluster/test_slurm.sh

DATASETS ?= mnist fashion-mnist
data:
	bash scripts/fetch-data.sh $(DATASETS)

bench: build
	bash scripts/bench/run.sh

clean:
	$(CARGO) clean
	rm -rf results/bench
