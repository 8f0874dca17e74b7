#!/usr/bin/env python3
"""Render the landing page of the HTTPS entry point: every UI, its live status
and where its login is kept on the controller.

    landing_page.py CONFIG_JSON OUTPUT_HTML [--every SECONDS]

CONFIG_JSON (written by the proxy role):
    {"title": "...", "secrets_dir": "ansible/.secrets/<host>",
     "services": [{"name": "MLflow", "path": "/mlflow/", "health": "http://127.0.0.1:5000/mlflow/health",
                   "login": "user admin, password in mlflow_admin", "about": "..."}]}

Each health URL (loopback only) is asked with a short timeout; any 2xx answer
is "up". The page is replaced atomically, so nginx never serves half a file.
With --every it keeps refreshing (the mlops-landing service); standard library
only, so it runs with the system Python.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

TIMEOUT_SECONDS = 3

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1d2733; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .5rem .75rem; border-bottom: 1px solid #dde3ea; }}
.up {{ color: #0b7a3b; font-weight: 600; }} .down {{ color: #b3261e; font-weight: 600; }}
code {{ background: #f1f4f7; padding: 0 .25rem; }} small {{ color: #5b6875; }}
</style></head>
<body>
<h1>{title}</h1>
<table>
<thead><tr><th>Service</th><th>Status</th><th>Login</th><th>What it is</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>Logins: user and password files are in <code>{secrets_dir}</code> on the machine that ran
<code>ansible-playbook</code> (mode 0600). The TLS certificate authority of this host is
<code>{secrets_dir}/ca.crt</code> there.</p>
<p><small>Status checked at {checked} (UTC) from this host; the page refreshes itself.</small></p>
</body></html>
"""

ROW = (
    '<tr><td><a href="{path}">{name}</a></td><td class="{state}" id="status-{slug}">{state}</td>'
    "<td>{login}</td><td>{about}</td></tr>"
)


def is_up(url: str) -> bool:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"health checks stay on loopback: {url}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 (loopback http only)
            return 200 <= answer.status < 300
    except (urllib.error.URLError, OSError):
        return False


def render(config: dict, now: datetime) -> str:
    rows = []
    for service in config["services"]:
        esc = {k: html.escape(str(v)) for k, v in service.items()}
        rows.append(
            ROW.format(
                path=esc["path"],
                name=esc["name"],
                slug=esc["name"].lower().replace(" ", "-"),
                state="up" if is_up(service["health"]) else "down",
                login=esc.get("login", ""),
                about=esc.get("about", ""),
            )
        )
    return PAGE.format(
        title=html.escape(config["title"]),
        rows="\n".join(rows),
        secrets_dir=html.escape(config["secrets_dir"]),
        checked=now.strftime("%Y-%m-%d %H:%M:%S"),
    )


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".landing-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--every", type=float, help="refresh forever, this many seconds apart")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text())
    while True:
        write_atomically(args.output, render(config, datetime.now(UTC)))
        if not args.every:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
