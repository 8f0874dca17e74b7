"""Every web UI in a real browser: Debian's headless Chromium, driven by
Selenium, through the HTTPS entry point. Chromium trusts the host's CA from
its own NSS database (no certificate errors are ignored), logs in with the
generated credentials and checks a page that proves the UI works. Screenshots
go to test-artifacts/screenshots/.

Runs after test_platform.py (file order), whose demo path registered the model,
promoted it to Production and ran the four DAGs.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# independent of the PostgreSQL layout: run once, in the default scenario
pytestmark = pytest.mark.usefixtures("default_scenario_only")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The flags that work as root on these machines (../shared/TESTING.md); without
# the background-networking ones Chromium floods the closed network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,900",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DAGS = ["dag_data_predictions", "dag_training", "dag_inference", "dag_model_monitoring"]


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory, platform) -> Path:
    """A HOME whose NSS database trusts the host's CA (what a user does once)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing or not shutil.which("certutil"):
        pytest.fail(
            f"browser tests need Debian's chromium, chromium-driver and libnss3-tools "
            f"(`make deps` installs them); missing: {missing or ['certutil']}"
        )
    home = tmp_path_factory.mktemp("chromium-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-N", "--empty-password", "-d", db], check=True)
    ca = platform.secrets / "ca.crt"
    subprocess.run(
        ["certutil", "-A", "-t", "C,,", "-n", "mlops-vm local CA", "-i", str(ca), "-d", db],
        check=True,
    )
    return home


@pytest.fixture
def browser(browser_home, tmp_path) -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    env = {**os.environ, "HOME": str(browser_home), "SE_OFFLINE": "true"}
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def basic_auth(driver: webdriver.Chrome, user: str, password: str) -> None:
    """Send a Basic login with every request, as the browser does after its login dialog."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}}
    )


def shows(driver: webdriver.Chrome, name: str, texts: list[str], timeout: float = 90) -> None:
    """Wait until the rendered page contains every text; screenshot either way."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        WebDriverWait(driver, timeout, poll_frequency=1).until(
            lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts)
        )
    except TimeoutException:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}-FAILED.png"))
        body = driver.find_element(By.TAG_NAME, "body").text
        missing = [t for t in texts if t not in body]
        pytest.fail(f"{name}: {driver.current_url} never showed {missing}; page: {body[:600]!r}")
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_landing_page_shows_every_ui_up(browser, platform):
    browser.get(f"{platform.url}/")
    shows(browser, "landing", ["MLflow", "Airflow", "Prometheus", "Alertmanager", "Prediction API"])
    states = {
        e.get_attribute("id"): e.text
        for e in browser.find_elements(By.CSS_SELECTOR, "[id^=status-]")
    }
    assert states and set(states.values()) == {"up"}, states


def test_mlflow_shows_the_model_with_its_production_alias(browser, platform):
    basic_auth(browser, "admin", platform.secret("mlflow_admin"))
    browser.get(f"{platform.url}/mlflow/#/models/iris-classifier")
    shows(browser, "mlflow-model", ["iris-classifier", "Production", "candidate"])


def test_airflow_login_then_the_four_dags(browser, platform):
    browser.get(f"{platform.url}/airflow/")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.NAME, "username"))
    assert "/airflow/" in browser.current_url, browser.current_url
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(platform.secret("airflow_admin"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 60).until(lambda d: not d.find_elements(By.NAME, "password"))
    browser.get(f"{platform.url}/airflow/dags")
    shows(browser, "airflow-dags", DAGS)


def test_prometheus_shows_its_targets_up(browser, platform):
    # Debian's Prometheus ships its classic UI only (/classic/...; / redirects there)
    basic_auth(browser, "admin", platform.secret("proxy_admin"))
    browser.get(f"{platform.url}/prometheus/")
    assert "/prometheus/classic/" in browser.current_url, browser.current_url
    browser.get(f"{platform.url}/prometheus/classic/targets")
    jobs = ["prometheus", "alertmanager", "node", "model-server", "tag-watcher", "object-store"]
    shows(browser, "prometheus-targets", [f"{job} (1/1 up)" for job in jobs] + ["postgres ("])
    body = browser.find_element(By.TAG_NAME, "body").text
    counts = dict(re.findall(r"^([a-z-]+) \((\d+/\d+) up\)", body, re.MULTILINE))
    assert all(n.split("/")[0] == n.split("/")[1] for n in counts.values()), counts


def test_alertmanager_answers_behind_the_proxy_login(browser, platform):
    # Debian's Alertmanager has no web UI (its page says so); the API answers under
    # the path, and active alerts show in Prometheus's /classic/alerts.
    basic_auth(browser, "admin", platform.secret("proxy_admin"))
    browser.get(f"{platform.url}/alertmanager/api/v2/status")
    shows(browser, "alertmanager-status", ['"cluster"', '"uptime"', '"versionInfo"'])


def test_grafana_shows_the_provisioned_dashboards(browser, platform, host):
    if not host.file("/etc/grafana/grafana.ini").exists:
        pytest.skip(
            "Grafana is not installed: its APT repository cannot be reached from these machines "
            "(mlops_grafana_stack_enabled: false), so /grafana/ is not proxied here"
        )
    browser.get(f"{platform.url}/grafana/login")
    browser.find_element(By.NAME, "user").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(platform.secret("grafana_admin"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.get(f"{platform.url}/grafana/dashboards")
    shows(
        browser, "grafana-dashboards", ["Model serving", "Model quality", "Pipelines", "Platform"]
    )
