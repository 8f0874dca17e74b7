"""The HTTPS entry point from the outside: TLS with the host's CA, a login on
every path, the bearer token of the API, security headers, size limits, the
landing page, and nothing but the proxy on a public address."""

from __future__ import annotations

import os
import re
import subprocess
import time

import local_vm
import pytest
import requests
from platform_demo import ROW, Client, group_vars

# independent of the PostgreSQL layout: run once, in the default scenario
pytestmark = pytest.mark.usefixtures("default_scenario_only")

SECURITY_HEADERS = {
    "Strict-Transport-Security": re.compile(r"max-age=\d{7,}"),
    "X-Content-Type-Options": re.compile("nosniff"),
    "X-Frame-Options": re.compile("SAMEORIGIN"),
}

# Paths that must refuse a request without credentials, and how
LOGIN_REQUIRED = {
    "/mlflow/": 401,  # MLflow's basic-auth app
    "/mlflow/api/2.0/mlflow/registered-models/search": 401,
    "/airflow/api/v2/dags": 401,  # Airflow's auth manager
    "/prometheus/": 401,  # proxy basic auth
    "/prometheus/api/v1/targets": 401,
    "/alertmanager/": 401,
    "/api/model": 401,  # bearer token
    "/api/ready": 401,
}


def served_names(public_ports) -> str:
    """The subject alternative names of the certificate the proxy serves."""
    pem = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{public_ports['https']}"],
        input="", capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName"],
        input=pem, capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip


def proxy_run(scenario, *extra: str) -> tuple[dict, list[str], str]:
    """site.yml's proxy phase: its recap, the tasks that changed, and its output."""
    rc, out, _ = local_vm.site(scenario, ["--tags", "proxy", *extra], echo=False, timeout=600)
    assert rc == 0, out[-3000:]
    return local_vm.recap(out)[0], local_vm.changed_tasks(out), out


def skipped(out: str, task: str) -> bool:
    """Whether the task of that name was skipped in a run's output."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"TASK [{task}]"))
    return any(line.startswith("skipping:") for line in lines[at + 1 : at + 4])


def test_the_certificate_steps_run_only_when_the_certificates_differ(host, scenario,
                                                                     public_ports):  # fmt: skip
    """A run reads the certificates and the TLS files first and skips the CA and
    certificate steps when they are as wanted. Whatever differs makes them run: a new
    name reissues the server certificate (and nginx serves it), a key readable by others
    is made 0600 again; then a run changes nothing and skips them."""
    name = "mlops-test.example.org"
    try:
        _, changed, _ = proxy_run(scenario, "-e", f'{{"proxy_extra_names": ["{name}"]}}')
        assert any("Server certificate" in line for line in changed), changed
        assert f"DNS:{name}" in served_names(public_ports)
        host.check_output("chmod 0644 /etc/mlops/tls/server.key")
    finally:
        _, changed, _ = proxy_run(scenario)
    assert f"DNS:{name}" not in served_names(public_ports)
    assert host.file("/etc/mlops/tls/server.key").mode == 0o600
    assert any("Server certificate" in line for line in changed), changed
    recap, changed, out = proxy_run(scenario)
    assert recap["changed"] == 0, changed
    for task in (
        "proxy : CA key",
        "proxy : CA certificate",
        "proxy : Server certificate, signed by the local CA",
    ):
        assert skipped(out, task), task


@pytest.fixture(scope="module")
def anonymous(platform) -> Client:
    return Client(platform.url, verify=str(platform.secrets / "ca.crt"))


def test_tls_is_signed_by_the_fetched_ca(platform):
    ca = platform.secrets / "ca.crt"
    assert ca.is_file(), "the proxy role fetches the CA certificate to the controller"
    assert Client(platform.url, verify=str(ca)).get("/").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{platform.url}/", timeout=10)  # the system trust store does not know it


def test_plain_http_redirects_to_https(platform, public_ports):
    answer = requests.get(
        f"http://127.0.0.1:{public_ports['http']}/mlflow/?x=1", allow_redirects=False, timeout=10
    )
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{platform.url}/mlflow/?x=1", answer.headers


@pytest.mark.parametrize(("path", "status"), sorted(LOGIN_REQUIRED.items()))
def test_every_path_wants_a_login(anonymous, path, status):
    answer = anonymous.get(path, allow_redirects=False)
    assert answer.status_code == status, f"{path}: {answer.status_code} {answer.text[:200]}"


def test_airflow_ui_sends_the_anonymous_browser_to_its_login(anonymous):
    answer = anonymous.get("/airflow/auth/login/", allow_redirects=False)
    assert answer.status_code in (200, 307), answer.status_code


def test_api_token_is_checked(platform, anonymous):
    wrong = Client(anonymous.base, verify=anonymous.verify, token="not-the-token")
    for client in (anonymous, wrong):
        answer = client.post("/api/invocations", json=ROW)
        assert answer.status_code == 401
        assert "bearer token" in answer.json()["error"]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert platform.api.post("/invocations", json=ROW).status_code == 200
    assert anonymous.get("/api/health").status_code == 200  # liveness needs no token
    assert anonymous.get("/api/metrics").status_code == 404  # metrics stay on loopback


def test_wrong_tokens_are_rate_limited_the_right_one_never(platform, anonymous):
    """A burst of wrong tokens from one address: 401s up to the burst, then a JSON 429;
    the right token from the same address is still answered meanwhile; the limit lifts."""
    wrong = Client(anonymous.base, verify=anonymous.verify, token="guess")
    statuses = [wrong.post("/api/invocations", json=ROW).status_code for _ in range(40)]
    assert set(statuses) == {401, 429}, statuses
    assert statuses.index(429) >= 10, statuses  # the burst (20, less what refilled) first
    limited = wrong.post("/api/invocations", json=ROW)
    assert limited.status_code == 429
    assert "wrong bearer token" in limited.json()["error"]
    assert limited.headers["Retry-After"] == "1"
    for _ in range(30):  # the legitimate client is never limited
        assert platform.api.post("/invocations", json=ROW).status_code == 200
    deadline = time.monotonic() + 30
    while wrong.post("/api/invocations", json=ROW).status_code == 429:
        assert time.monotonic() < deadline, "the limit did not lift"
        time.sleep(1)
    time.sleep(10)  # the whole burst back (20 at 2/s) for the tests after this


def test_the_token_is_compared_case_sensitively(platform, anonymous):
    """nginx's map matches plain strings ignoring case: the token in another mix of
    cases must still be refused."""
    token = platform.secret("api_token")
    assert token.swapcase() != token
    other_case = Client(anonymous.base, verify=anonymous.verify, token=token.swapcase())
    assert other_case.post("/api/invocations", json=ROW).status_code == 401
    shouting = requests.post(
        f"{anonymous.base}/api/invocations", json=ROW, verify=anonymous.verify, timeout=10,
        headers={"Authorization": f"BEARER {token}"},
    )  # fmt: skip
    assert shouting.status_code == 401


# Login paths: what a guess sends, the right login, the burst before 429 (proxy defaults)
LOGINS = {
    "proxy basic auth": ("GET", "/prometheus/api/v1/targets", "proxy_admin", 20),
    "MLflow basic auth": ("GET", "/mlflow/api/2.0/mlflow/registered-models/search",
                          "mlflow_admin", 100),
    "Airflow login": ("POST", "/airflow/auth/token", "airflow_admin", 20),
}  # fmt: skip


def attempt(platform, anonymous, login: str, *, right: bool) -> requests.Response:
    method, path, secret, _ = LOGINS[login]
    # a guess names a user that does not exist: MLflow then answers without hashing
    user, password = ("admin", platform.secret(secret)) if right else ("a-stranger", "a-guess")
    if method == "POST":
        return anonymous.post(path, json={"username": user, "password": password})
    return anonymous.get(path, auth=(user, password))


@pytest.mark.parametrize("login", sorted(LOGINS))
def test_wrong_logins_are_rate_limited_the_right_one_never(platform, anonymous, login):
    """A burst of wrong passwords from one address: refused (401) up to the burst, then
    429; the platform's own basic-auth login from the same address is still answered
    meanwhile (a login form's POST is counted like any other); the limit lifts. nginx or
    the application still checks every password."""
    burst = LOGINS[login][3]
    statuses = [
        attempt(platform, anonymous, login, right=False).status_code for _ in range(burst + 40)
    ]
    assert set(statuses) == {401, 429}, statuses
    assert statuses.index(429) >= burst // 2, statuses  # the burst, less what refilled
    assert statuses[-1] == 429, statuses
    method = LOGINS[login][0]
    for _ in range(10):
        right = attempt(platform, anonymous, login, right=True)
        if method == "POST":  # nginx cannot read the password of a form: every POST counts
            assert right.status_code == 429, f"{login}: {right.status_code}"
        else:
            assert right.status_code == 200, f"{login}: {right.status_code} {right.text[:200]}"
    deadline = time.monotonic() + 60
    while attempt(platform, anonymous, login, right=False).status_code == 429:
        assert time.monotonic() < deadline, "the limit did not lift"
        time.sleep(1)
    time.sleep(10)  # the whole burst back (20 at 2/s, 100 at 10/s) for the tests after this
    right = attempt(platform, anonymous, login, right=True)
    assert right.status_code in (200, 201), f"{login}: {right.status_code} {right.text[:200]}"


def test_logins_are_accepted(platform, anonymous):
    assert platform.mlflow.get("/api/2.0/mlflow/registered-models/search").status_code == 200
    proxy_login = ("admin", platform.secret("proxy_admin"))
    for path in ("/prometheus/api/v1/targets", "/alertmanager/api/v2/status"):
        assert anonymous.get(path, auth=proxy_login).status_code == 200, path
        assert anonymous.get(path, auth=("admin", "wrong")).status_code == 401, path


def test_mlflow_checks_a_right_login_once_per_minute_not_at_every_call(ports, platform):
    """MLflow's basic-auth app checks a password with scrypt (0.1-0.3 s of CPU) at every
    API call unless its credential cache is on; the model server and the tag watcher
    call it every 10 s. Side by side on MLflow's own port: a right login (cached after
    its first call) against a wrong one (never cached, scrypt every time)."""
    url = f"http://127.0.0.1:{ports['mlflow']}/mlflow/api/2.0/mlflow/registered-models/search"
    right = (group_vars("main")["mlops_admin_users"]["mlflow"], platform.secret("mlflow_admin"))
    wrong = (right[0], "not-the-password")
    times: dict[str, list[float]] = {"right": [], "wrong": []}
    with requests.Session() as session:
        assert session.get(url, auth=right, timeout=30).status_code == 200  # fills the cache
        for _ in range(8):
            for kind, login in (("right", right), ("wrong", wrong)):
                start = time.monotonic()
                status = session.get(url, auth=login, timeout=30).status_code
                times[kind].append(time.monotonic() - start)
                assert status == (200 if kind == "right" else 401), kind
    right_ms, wrong_ms = (sorted(times[k])[4] * 1000 for k in ("right", "wrong"))
    print(f"MLflow API call, median of 8: right login {right_ms:.1f} ms, wrong {wrong_ms:.1f} ms")
    assert right_ms * 4 < wrong_ms, (right_ms, wrong_ms)


def test_the_proxy_login_costs_nginx_milliseconds(host, platform, anonymous):
    """nginx checks the basic-auth password at every request, inside its event loop: a
    stretched hash (passlib's 656,000 SHA-512 rounds) held a worker for 0.3-0.45 s per
    Prometheus request, and every other request on that worker waited. The login file
    must use glibc's default 5,000 rounds."""
    hashed = host.check_output("cut -d: -f2- /etc/nginx/mlops.htpasswd")
    assert hashed.startswith("$6$"), f"not SHA-512 crypt: {hashed[:12]}"
    rounds = re.match(r"\$6\$rounds=(\d+)\$", hashed)
    assert rounds is None or int(rounds.group(1)) <= 5000, f"stretched hash: {hashed[:20]}"
    login = ("admin", platform.secret("proxy_admin"))
    took = []
    for _ in range(10):
        start = time.monotonic()
        assert anonymous.get("/prometheus/-/healthy", auth=login).status_code == 200
        took.append(time.monotonic() - start)
    print(f"/prometheus/-/healthy with the login: median {sorted(took)[5] * 1000:.1f} ms of 10")


@pytest.mark.parametrize("path", ["/", "/mlflow/", "/api/invocations", "/prometheus/"])
def test_security_headers(anonymous, path):
    answer = anonymous.get(path)
    for name, pattern in SECURITY_HEADERS.items():
        assert pattern.search(answer.headers.get(name, "")), f"{path}: {name} missing"
    assert "nginx/" not in answer.headers.get("Server", "")


def test_request_size_is_limited(platform):
    big = b"x" * (3 * 1024 * 1024)  # above proxy_api_max_body_size (2m)
    answer = platform.api.post(
        "/invocations", data=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    # under the proxy's limit but over the server's own: the server's JSON 413
    answer = platform.api.post(
        "/invocations", data=big[: 1536 * 1024], headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "error" in answer.json()


def test_landing_page_lists_every_ui_with_its_live_status(anonymous):
    deadline = time.monotonic() + 60
    while True:
        page = anonymous.get("/").text
        states = dict(re.findall(r'id="status-([a-z-]+)">(up|down)<', page))
        if states and set(states.values()) == {"up"}:
            break
        assert time.monotonic() < deadline, f"not every UI is up on the landing page: {states}"
        time.sleep(3)
    assert {"mlflow", "airflow", "prometheus", "alertmanager", "prediction-api"} <= set(states)
    for path in ("/mlflow/", "/airflow/", "/prometheus/", "/alertmanager/"):
        assert f'href="{path}"' in page
    assert "ca.crt" in page and "ansible/.secrets/" in page


def listeners(host) -> list[tuple[str, int, str]]:
    """(address, port, process) of every TCP listener owned by a process of the host.

    Host networking: the container shares this machine's sockets, and inside it
    `ss` cannot name the processes of other users (no CAP_SYS_PTRACE). So list
    them from this machine and keep those in the container's PID namespace."""
    pid = subprocess.check_output(
        ["docker", "inspect", "-f", "{{.State.Pid}}", host.backend.get_hostname()], text=True
    ).strip()
    namespace = os.readlink(f"/proc/{pid}/ns/pid")
    found = []
    for line in subprocess.check_output(["ss", "-H", "-ltnp"], text=True).splitlines():
        address, port = line.split()[3].rsplit(":", 1)
        for name, owner in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            try:
                if os.readlink(f"/proc/{owner}/ns/pid") == namespace:
                    found.append((address.strip("[]"), int(port), name))
            except FileNotFoundError:  # the process ended meanwhile
                pass
    return sorted(set(found))


def test_only_the_proxy_listens_on_public_addresses(host, public_ports):
    ours = listeners(host)
    public = [(a, p, proc) for a, p, proc in ours if a not in {"127.0.0.1", "::1"}]
    print(f"\n{len(ours)} listeners of the platform; on public addresses: {public}")
    assert len(ours) >= 15, f"the platform's own listeners were not found: {ours}"
    assert {proc for _, _, proc in public} == {"nginx"}, public
    assert {p for _, p, _ in public} == set(public_ports.values())


def dports(ruleset: str) -> list[int]:
    allowed = re.search(r"tcp dport \{ ([0-9, ]+) \}", ruleset).group(1)
    return sorted(int(p) for p in allowed.split(","))


def test_firewall_ruleset_is_rendered_and_valid_but_not_loaded_here(host):
    rules = host.file("/etc/nftables.conf")
    assert rules.exists and "policy drop" in rules.content_string
    # SSH (22, and the port Ansible logged in on: the local VM's) and the proxy
    ssh = group_vars("ports")["mlops_local_vm_ports"]["ssh"]
    assert dports(rules.content_string) == sorted([22, ssh, 80, 443])
    # loaded for real, into a throwaway network namespace: the kernel accepts it as written
    loaded = host.run(
        "unshare --user --map-root-user --net sh -c 'nft -f /etc/nftables.conf && nft list ruleset'"
    )
    assert loaded.rc == 0, loaded.stderr
    assert "policy drop" in loaded.stdout
    assert dports(loaded.stdout) == sorted([22, ssh, 80, 443]), loaded.stdout
    print(
        "\nfirewall: /etc/nftables.conf rendered and loaded into a throwaway network namespace "
        f"(inbound TCP 22, {ssh}, 80, 443 only); NOT applied to the host: the container "
        "shares this machine's network (firewall_apply: false in Molecule)"
    )
    assert not host.service("nftables").is_running


def test_an_nginx_file_that_nginx_refuses_is_never_installed(host):
    """Every file nginx reads is written through `check_nginx.py` (the templates'
    `validate:`): `nginx -t` on a scratch copy of /etc/nginx with the candidate in
    place. A refused candidate fails the task with nginx's message, naming the file
    and line as installed, and leaves the installed configuration as it was."""
    check = "/usr/bin/python3 /opt/mlops/app/ops/check_nginx.py"
    site = "/etc/nginx/sites-available/mlops.conf"
    before = host.check_output(f"sha256sum {site} /etc/nginx/conf.d/*.conf")
    host.check_output(
        f"cp {site} /tmp/broken-site.conf && echo 'bogus_directive on;' >> /tmp/broken-site.conf"
    )
    refused = host.run(f"{check} /tmp/broken-site.conf {site} --enable")
    assert refused.rc == 1, refused
    assert 'unknown directive "bogus_directive"' in refused.stderr, refused.stderr
    # nginx names the file as installed (through the sites-enabled link), not the scratch copy
    assert re.search(r"/etc/nginx/sites-(available|enabled)/mlops\.conf:\d+", refused.stderr)
    assert "check-nginx-" not in refused.stderr, refused.stderr
    # a conf.d file is checked together with the site that uses it
    host.check_output(
        "printf 'limit_req_zone $binary_remote_addr zone=x:1m rate=fast;\\n' "
        "> /tmp/broken-zone.conf"
    )
    refused = host.run(f"{check} /tmp/broken-zone.conf /etc/nginx/conf.d/mlops-broken.conf")
    assert refused.rc == 1 and "rate" in refused.stderr, refused
    assert not host.file("/etc/nginx/conf.d/mlops-broken.conf").exists
    # what is installed passes the same check, and nothing was changed
    for path, enable in [(site, " --enable"), ("/etc/nginx/conf.d/mlops-logins.conf", "")]:
        kept = host.run(f"{check} {path} {path}{enable}")
        assert kept.rc == 0, kept
    assert host.check_output(f"sha256sum {site} /etc/nginx/conf.d/*.conf") == before
    assert host.run("nginx -t").rc == 0
