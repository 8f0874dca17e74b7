# mlops-vm: the commands the README gives.
#   make demo   start the services locally and run the demo path (no cloud, no VM)
#   make test   lint + every test suite
PYTHON ?= python3
VENV := .venv
AIRFLOW_VENV := .venv-airflow
PIP_FLAGS ?= --disable-pip-version-check -q

.PHONY: venvs lint test test-unit test-integration demo clean

venvs: $(VENV)/.installed $(AIRFLOW_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements/*.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(AIRFLOW_VENV)/.installed: requirements/airflow.txt requirements/ml.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/airflow.txt
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

test-integration: venvs
	$(VENV)/bin/pytest tests/integration

test: lint venvs
	$(VENV)/bin/pytest tests

demo: $(VENV)/.installed
	$(VENV)/bin/python scripts/demo_local.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .pytest_cache .ruff_cache
