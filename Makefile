# mlops-vm: the commands the README gives.
#   make demo   bring the platform up in a local systemd container and run the demo path
#   make test   lint + every test suite (unit, integration, terraform, molecule)
# Everything else is a building block of those two.
PYTHON ?= python3
SHELL := /bin/bash
VENV := .venv
AIRFLOW_VENV := .venv-airflow
TOOLS_VENV := .venv-tools
# the model server alone, installed as on the VM (mlflow-skinny): the serving benchmark runs ours in it
SERVING_VENV := .venv-serving
# uv installs the pinned sets about ten times faster than pip; it sits in a venv of its own
UV_VENV := .venv-uv
UV_VERSION := 0.13.9
UV := $(UV_VENV)/bin/uv
PIP_FLAGS ?= --disable-pip-version-check -q
IMAGE ?= $(or $(MLOPS_TEST_IMAGE),local/debian12-systemd:latest)
ROOTFS := /var/tmp/mlops-debian12-rootfs
DEBIAN_MIRROR ?= http://deb.debian.org/debian
MOLECULE := . $(TOOLS_VENV)/bin/activate && PATH="$$PATH:/usr/bin" molecule
SCENARIOS ?= default single-postgres
export MLOPS_PIP_CACHE ?= /var/cache/mlops-molecule/pip
export MLOPS_UV_CACHE ?= /var/cache/mlops-molecule/uv
# Debian's promtool, unpacked (installing the package would start a Prometheus on :9090)
PROMTOOL := .tools/prometheus/usr/bin/promtool
export MLOPS_PROMTOOL := $(CURDIR)/$(PROMTOOL)
# Debian's cloud-init, unpacked (installed, it would run at this machine's next boot); the
# Terraform tests validate the VM's user data with it, in the tools venv
CLOUD_INIT := .tools/cloud-init/usr/bin/cloud-init
export MLOPS_CLOUD_INIT := $(CURDIR)/$(CLOUD_INIT)

.PHONY: docs deps terraform engine image venvs lint test test-unit test-integration test-terraform \
        test-prometheus test-molecule up demo down demo-local clean

# Debian packages the tests and the local platform need (root on Debian 12)
deps:
	@missing=""; for p in postgresql-15 make python3-venv docker.io debootstrap chromium chromium-driver libnss3-tools wrk openssh-server; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

# Terraform from HashiCorp's APT repository, pinned, when the machine has none
TERRAFORM_VERSION := 1.11.4
terraform:
	@if command -v terraform >/dev/null; then :; else \
	  echo "installing terraform $(TERRAFORM_VERSION) from HashiCorp's APT repository"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl gpg && \
	  curl -fsSL https://apt.releases.hashicorp.com/gpg | \
	    gpg --dearmor --yes -o /usr/share/keyrings/hashicorp-archive-keyring.gpg && \
	  echo "deb [signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg] https://apt.releases.hashicorp.com bookworm main" \
	    >/etc/apt/sources.list.d/hashicorp.list && \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq terraform=$(TERRAFORM_VERSION)-1 || { \
	    echo "terraform could not be installed: the terraform tests will fail"; exit 1; }; fi

# Docker engine without a bridge: containers share the host's network (127.0.0.1 only)
engine: deps
	@docker info >/dev/null 2>&1 || { \
	  echo "starting dockerd (no bridge, no iptables)"; \
	  nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/mlops-dockerd.log 2>&1 & \
	  for i in $$(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start: see /var/log/mlops-dockerd.log"; exit 1; }; }

# The systemd "VM" image, built locally (no registry is reachable): debootstrap + docker import
image: engine
	@docker image inspect $(IMAGE) >/dev/null 2>&1 || { \
	  echo "building $(IMAGE) with debootstrap (about a minute)"; \
	  rm -rf $(ROOTFS) && \
	  debootstrap --variant=minbase \
	    --include=systemd,systemd-sysv,dbus,python3,sudo,ca-certificates,iproute2,procps \
	    bookworm $(ROOTFS) $(DEBIAN_MIRROR) >/var/log/mlops-debootstrap.log && \
	  tar -C $(ROOTFS) -c . | docker import -c 'CMD ["/sbin/init"]' - $(IMAGE) && \
	  rm -rf $(ROOTFS); }

venvs: $(VENV)/.installed $(AIRFLOW_VENV)/.installed $(TOOLS_VENV)/.installed $(SERVING_VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install $(PIP_FLAGS) uv==$(UV_VERSION)

# venv DIR from requirements FILE, with pip seeded for users who reach for it
define uv_venv
	$(UV) venv -q --seed --allow-existing --python $(PYTHON) $(1)
	$(UV) pip install -q --python $(1)/bin/python -r $(2)
	touch $(1)/.installed
endef

$(VENV)/.installed: $(UV) requirements.txt requirements/ml.txt requirements/model-server.txt requirements/mlflow-server.txt
	$(call uv_venv,$(VENV),requirements.txt)

$(AIRFLOW_VENV)/.installed: $(UV) requirements/airflow.txt requirements/ml.txt
	$(call uv_venv,$(AIRFLOW_VENV),requirements/airflow.txt)

$(TOOLS_VENV)/.installed: $(UV) requirements/tools.txt
	$(call uv_venv,$(TOOLS_VENV),requirements/tools.txt)

$(SERVING_VENV)/.installed: $(UV) requirements/model-server.txt requirements/ml.txt
	$(call uv_venv,$(SERVING_VENV),requirements/model-server.txt)

$(PROMTOOL):
	mkdir -p .tools && cd .tools && rm -f prometheus_*.deb && \
	  { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } && \
	  dpkg-deb -x prometheus_*.deb prometheus && rm prometheus_*.deb

$(CLOUD_INIT):
	mkdir -p .tools && cd .tools && rm -f cloud-init_*.deb && \
	  { apt-get download cloud-init 2>/dev/null || { apt-get update -qq && apt-get download cloud-init; }; } && \
	  dpkg-deb -x cloud-init_*.deb cloud-init && rm cloud-init_*.deb

lint: terraform $(VENV)/.installed $(TOOLS_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TOOLS_VENV)/bin/yamllint --strict .
	# the roles path lets its syntax check follow import_role to the shared role
	. $(TOOLS_VENV)/bin/activate && ANSIBLE_ROLES_PATH=$(CURDIR)/ansible/roles ansible-lint
	terraform fmt -check -recursive terraform

# docs/configuration.md, generated from the roles' argument specs and group_vars
docs: $(VENV)/.installed
	$(VENV)/bin/python docs/build_configuration.py

test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

test-integration: deps venvs
	$(VENV)/bin/pytest tests/integration

test-terraform: terraform venvs image $(CLOUD_INIT)
	$(VENV)/bin/pytest tests/terraform

test-prometheus: $(VENV)/.installed $(PROMTOOL)
	$(VENV)/bin/pytest tests/prometheus

# Each scenario as a user's VM, one at a time (host networking): Molecule creates the
# container and prepares it as a cloud image (sshd, a sudo user); molecule/local_vm.py
# previews site.yml --check --diff on the fresh host, takes the user's two steps (terraform
# apply, site.yml over SSH) and the no-change run; Molecule verifies and destroys.
# KEEP=1 keeps a failed scenario's container.
LOCAL_VM := $(TOOLS_VENV)/bin/python molecule/local_vm.py
test-molecule: image terraform $(TOOLS_VENV)/.installed
	mkdir -p $(MLOPS_PIP_CACHE) $(MLOPS_UV_CACHE)
	@mkdir -p .molecule-logs; for s in $(SCENARIOS); do \
	  echo "== molecule scenario $$s"; start=$$(date +%s); log=.molecule-logs/$$s.log; \
	  { $(MOLECULE) destroy -s $$s && $(MOLECULE) create -s $$s && \
	    $(LOCAL_VM) preview -s $$s && $(LOCAL_VM) converge -s $$s && $(LOCAL_VM) idempotence -s $$s && \
	    $(MOLECULE) verify -s $$s && $(MOLECULE) destroy -s $$s; } 2>&1 | tee $$log; \
	  if [ $${PIPESTATUS[0]} -ne 0 ]; then \
	    [ -n "$(KEEP)" ] || $(MOLECULE) destroy -s $$s >/dev/null 2>&1; \
	    echo "== molecule scenario $$s failed; what failed (whole output: $$log):"; \
	    grep -aE -A2 "FAILED|ERROR|fatal: \[|failed: \[|\bE   |^== " $$log | tail -100; exit 1; fi; \
	  echo "== molecule scenario $$s passed in $$(( $$(date +%s) - start ))s"; done

test: deps lint venvs image $(PROMTOOL) $(CLOUD_INIT)
	$(VENV)/bin/pytest tests --durations=15
	$(MAKE) test-molecule

# The platform in a local systemd container (the "VM"), reached as a VM over SSH:
# terraform apply writes the inventory, site.yml converges it
up: image terraform $(TOOLS_VENV)/.installed
	mkdir -p $(MLOPS_PIP_CACHE) $(MLOPS_UV_CACHE)
	$(MOLECULE) create -s default
	$(LOCAL_VM) converge -s default

demo: up
	$(TOOLS_VENV)/bin/python scripts/platform_demo.py --secrets ansible/.secrets/mlops-molecule-default

down: $(TOOLS_VENV)/.installed
	$(MOLECULE) destroy -s default

# The demo path with the programs as plain processes (no Docker, no systemd)
demo-local: deps $(VENV)/.installed
	$(VENV)/bin/python scripts/demo_local.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(TOOLS_VENV) $(UV_VENV) .tools .pytest_cache .ruff_cache
