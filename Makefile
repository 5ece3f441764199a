# Scribe Rabbit. `make run` starts the whole service on this machine; `make test` checks it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck install install-dev system-deps services clean deploy-check \
	flower check-ops

help:
	@echo "make run        install (first time) and start API, workers and beat on this machine"
	@echo "make test       install (first time), then ruff, mypy and pytest"
	@echo "make install    the worker/runtime virtualenv in $(VENV)"
	@echo "make deploy-check  offline checks of the Dockerfiles, compose, ECS, Kubernetes, Terraform"
	@echo "make flower     Flower, the task dashboard, behind basic auth (FLOWER_BASIC_AUTH)"
	@echo "make check-ops  promtool checks and unit tests of the alert rules in ops/prometheus"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-worker: requirements.txt requirements-worker.txt pyproject.toml | $(BIN)/python
	$(PIP) install -q -r requirements-worker.txt
	$(PIP) install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements-deploy.txt $(VENV)/.installed-worker
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q -r requirements-deploy.txt
	touch $@

install: $(VENV)/.installed-worker
install-dev: $(VENV)/.installed-dev

system-deps:
	@scripts/system-deps.sh

services:
	@scripts/system-deps.sh --test
	@scripts/services.sh

run: system-deps install
	$(BIN)/scribe run

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

flower: install
	$(BIN)/scribe flower

# Alert rules and Prometheus config in ops/ (Debian's promtool, installed on first use).
check-ops:
	@scripts/system-deps.sh --ops
	promtool check rules ops/prometheus/alerts.yml
	cd ops/prometheus && promtool test rules alerts.test.yml
	promtool check config ops/prometheus/prometheus.yml

test: services install-dev lint typecheck check-ops
	$(BIN)/pytest

# --- Deployment checks (issue 6): offline; see README "Deploying" ---------------------------
CHECKOV_VENV ?= .venv-checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

deploy-check: install-dev $(CHECKOV_VENV)/.installed
	$(BIN)/python -m deploy --checkov $(CHECKOV_VENV)/bin/checkov

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache
