"""No generated secret leaks: not in a process command line, not in a file that
others may read, not in the journal, not in the git tree. Runs after the demo
path, so every service has started, logged in and written what it writes."""

from __future__ import annotations

import subprocess

import pytest
from platform_demo import REPO

# Where the platform writes: configuration, code and venvs, data, logs, runtime files
SEARCHED = "/etc /opt/mlops /var/lib/mlops /var/lib/prometheus /var/log /run /tmp /srv /home /root"
SHORTEST = 20  # every generated secret is longer; shorter files (ca.crt is public) are skipped


@pytest.fixture(scope="module")
def secrets(platform) -> dict[str, str]:
    found = {}
    for path in sorted(platform.secrets.iterdir()):
        value = path.read_text().strip()
        if path.name != "ca.crt" and len(value) >= SHORTEST:
            found[path.name] = value
    assert len(found) >= 10, f"expected the generated secrets, found {sorted(found)}"
    return found


@pytest.fixture(scope="module")
def patterns(host, secrets) -> str:
    """The secrets as a grep pattern file on the host (root only, removed afterwards)."""
    path = "/root/.mlops-leak-patterns"
    host.check_output(f"install -m 0600 /dev/null {path}")
    for value in secrets.values():
        host.check_output(f"printf '%s\\n' {value} >> {path}")
    yield path
    host.run(f"rm -f {path}")


def named(secrets: dict[str, str], text: str) -> list[str]:
    return sorted(name for name, value in secrets.items() if value in text)


def test_no_secret_in_any_command_line(host, secrets):
    lines = host.check_output(
        "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done"
    )
    leaks = [(named(secrets, line), line[:120]) for line in lines.splitlines()]
    leaks = [leak for leak in leaks if leak[0]]
    assert not leaks, f"secrets in process command lines: {leaks}"


def test_files_with_secrets_are_readable_by_their_owner_only(host, patterns):
    listing = host.run(
        f"grep -rlsF --file={patterns} {SEARCHED} --exclude-dir=proc "
        f"| grep -v '^{patterns}$' | xargs -r stat -c '%a %U:%G %n'"
    ).stdout
    files = [line.split(" ", 2) for line in listing.splitlines()]
    print("files holding a secret:\n  " + "\n  ".join(" ".join(f) for f in files))
    assert files, "no file holds a secret: the search is broken"
    readable = [f for f in files if int(f[0], 8) & 0o004]
    assert not readable, f"world-readable files with secrets: {readable}"
    for mode, owner, name in files:
        # group read only where a service's group must read its own configuration
        assert int(mode, 8) & 0o037 in (0, 0o040), (mode, owner, name)


def test_no_secret_in_the_journal(host, patterns):
    leaked = host.run(f"journalctl --no-pager -o cat | grep -cF --file={patterns}").stdout
    assert leaked.strip() == "0", f"{leaked.strip()} journal lines hold a secret"


def test_no_secret_in_the_git_tree(secrets):
    tracked = subprocess.run(
        ["git", "grep", "-lF", *[arg for v in secrets.values() for arg in ("-e", v)]],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tracked.returncode == 1 and not tracked.stdout, f"tracked files: {tracked.stdout}"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "ansible/.secrets/any-host/postgres_app"],
        cwd=REPO, check=False,
    )  # fmt: skip
    assert ignored.returncode == 0, "ansible/.secrets is not git-ignored"
