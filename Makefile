# mlops-vm: the commands the README gives.
#   make demo   start the services locally and run the demo path (no cloud, no VM)
#   make test   lint + every test suite
PYTHON ?= python3
VENV := .venv
AIRFLOW_VENV := .venv-airflow
TOOLS_VENV := .venv-tools
PIP_FLAGS ?= --disable-pip-version-check -q

.PHONY: venvs lint test test-unit test-integration test-terraform demo clean

venvs: $(VENV)/.installed $(AIRFLOW_VENV)/.installed $(TOOLS_VENV)/.installed

$(VENV)/.installed: requirements.txt requirements/ml.txt requirements/model-server.txt requirements/mlflow-server.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(AIRFLOW_VENV)/.installed: requirements/airflow.txt requirements/ml.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/airflow.txt
	touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/tools.txt
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

test-integration: venvs
	$(VENV)/bin/pytest tests/integration

test-terraform: venvs
	$(VENV)/bin/pytest tests/terraform

test: lint venvs
	$(VENV)/bin/pytest tests

demo: $(VENV)/.installed
	$(VENV)/bin/python scripts/demo_local.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(TOOLS_VENV) .pytest_cache .ruff_cache
