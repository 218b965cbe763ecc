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
#   make reproduce-structure-table2, reproduce-structure-spectra
#                           the structure study's Table 2, and Tables 1, 4, 5 / Figure 1 (FULL=1: the paper's sizes)
#   make example-transformer
#                           your own model: a small transformer from a PyTorch script, its gradients
#                           via TorchScript + --inputs, kappa, normality and spectrum tables (minutes)
#   make test               every test (unit, CLI, end-to-end)
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

.PHONY: help setup build test lint fmt bench demo example-transformer reproduce-table1 reproduce-vmf-figures reproduce-walk-table1 reproduce-walk-figures reproduce-gaussianity reproduce-structure-table2 reproduce-structure-spectra clean data
help:
	@echo "make setup             Python environment with torch 2.13.0 (libtorch) and the reference packages"
	@echo "make build             release binaries in $(RELEASE)/"
	@echo "make test              all tests"
	@echo "make lint              rustfmt --check and clippy -D warnings"
	@echo "make demo              train fnn on MNIST briefly, dump gradients, vmf-kappa, plot kappa (a few minutes)"
	@echo "make example-transformer  your own model: a small GPT on README's bytes via TorchScript + --inputs, then vmf-kappa, normtest, powerlaw-fit (results/examples/transformer)"
	@echo "make reproduce-table1  the vMF study's Table 1 and Figure 8 into results/"
	@echo "make reproduce-vmf-figures  the vMF study's Figures 2(a), 3, 5, 6 on a CPU (~16 min on 2 cores; VMF_FULL=1 the paper's size, DEVICE=cuda)"
	@echo "make reproduce-walk-table1   the walk study's Table 1, MLP row: barriers in epochs 1, 10, 25 (FULL=1: whole training set; DEVICE=cuda)"
	@echo "make reproduce-walk-figures  the walk study's Figures 5 and 7 in small (MLP on 10,000 MNIST images)"
	@echo "make reproduce-gaussianity   the Gaussianity study's Tables 1-2, Figure 2: Gaussian % per layer vs batch size (~25 min on a CPU; FULL=1 the paper's sizes, DEVICE=cuda)"
	@echo "make reproduce-structure-table2   the structure study's Table 2: Gaussian and power-law rates, iteration- vs dimension-wise (~20 min; FULL=1: T = 5,000)"
	@echo "make reproduce-structure-spectra  the structure study's Tables 1, 4, 5 and Figure 1: eigengap and spectrum power laws (~20 min; FULL=1: T = 5,000, batch sizes to 10,000)"
	@echo "make data              MNIST and Fashion-MNIST into data/raw/ (DATASETS=\"cifar10 cifar100\" for CIFAR), md5-verified"
	@echo "make bench             benchmarks against the Python peers (figures on stderr and in results/bench/; BENCH=\"normtest walk\" for some sections)"

setup: $(VENV)/.installed

$(VENV)/.installed: scripts/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-cache-dir -r scripts/requirements.txt
	touch $@

build: setup
	$(CARGO) build --release --workspace --bins

# One dev-profile build (optimised, see Cargo.toml) serves the unit tests, the CLI tests
# and the end-to-end pipeline.
test: setup
	$(CARGO) test --workspace
	GRADSCOPE_BIN=target/debug bash tests/pipeline.sh
	GRADSCOPE_BIN=target/debug $(PY) scripts/check_results_open.py

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

# The Gaussianity and structure studies (scripts/normality/, scripts/structure/ say what
# each runs, on which data, at which epoch, and how it is sized). FULL=1: the papers' sizes;
# DEVICE=cuda runs on a GPU.
reproduce-gaussianity: build data
	bash scripts/normality/gaussianity.sh

reproduce-structure-table2: build data
	bash scripts/structure/table2.sh

reproduce-structure-spectra: build data
	bash scripts/structure/spectra.sh

DATASETS ?= mnist fashion-mnist
data:
	bash scripts/fetch-data.sh $(DATASETS)

bench: build
	bash scripts/bench/run.sh

clean:
	$(CARGO) clean
	rm -rf results/bench
