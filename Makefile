# gradscope: build, test and reproduce.
#
#   make reproduce-table1   the vMF study's Table 1 and Figure 8 (results/)
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

.PHONY: help setup build test lint fmt bench reproduce-table1 clean data
help:
	@echo "make setup             Python environment with torch 2.13.0 (libtorch) and the reference packages"
	@echo "make build             release binaries in $(RELEASE)/"
	@echo "make test              all tests"
	@echo "make lint              rustfmt --check and clippy -D warnings"
	@echo "make reproduce-table1  the vMF study's Table 1 and Figure 8 into results/"
	@echo "make data              MNIST and Fashion-MNIST into data/raw/ (DATASETS=\"cifar10 cifar100\" for CIFAR), md5-verified"
	@echo "make bench             benchmarks against the Python peers (figures on stderr and in results/bench/)"

setup: $(VENV)/.installed

$(VENV)/.installed: scripts/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
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

DATASETS ?= mnist fashion-mnist
data:
	bash scripts/fetch-data.sh $(DATASETS)

bench: build
	bash scripts/bench/run.sh

clean:
	$(CARGO) clean
	rm -rf results/bench
