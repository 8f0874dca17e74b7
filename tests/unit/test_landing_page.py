"""The landing page shows each UI's real status, escapes what it prints and
is replaced atomically."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.harness import REPO, free_port


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def health_url():
    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def run(tmp_path, services):
    config = tmp_path / "landing.json"
    config.write_text(
        json.dumps(
            {"title": "mlops <vm>", "secrets_dir": "ansible/.secrets/h", "services": services}
        )
    )
    out = tmp_path / "index.html"
    result = subprocess.run(
        [sys.executable, str(REPO / "server/landing_page.py"), str(config), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result, out


def test_status_follows_the_health_answers(tmp_path, health_url):
    closed = f"http://127.0.0.1:{free_port()}/health"
    result, out = run(
        tmp_path,
        [
            {"name": "MLflow", "path": "/mlflow/", "health": f"{health_url}/ok", "login": "admin"},
            {"name": "Airflow", "path": "/airflow/", "health": f"{health_url}/bad", "login": "x"},
            {"name": "Grafana", "path": "/grafana/", "health": closed, "login": "<b>"},
        ],
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert '<td class="up" id="status-mlflow">up</td>' in page
    assert '<td class="down" id="status-airflow">down</td>' in page  # a 503 is down
    assert '<td class="down" id="status-grafana">down</td>' in page  # nothing listening
    assert "mlops &lt;vm&gt;" in page and "&lt;b&gt;" in page and "<b>" not in page
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert not list(tmp_path.glob(".landing-*"))


def test_refuses_health_checks_off_loopback(tmp_path):
    result, out = run(tmp_path, [{"name": "X", "path": "/x/", "health": "http://10.0.0.1/health"}])
    assert result.returncode != 0
    assert "loopback" in result.stderr
    assert not out.exists()
