"""Clients that send requests one after another while something is redeployed, and
count every answer that is not a 200 (or no answer at all) as a failed request.

With ``retry_dropped``, a client does what browsers and curl do when the server closed
a kept-alive connection just as the request went out (HTTP/1.1
lets a server close an idle connection at any time; nginx's reload closes its old
workers' idle ones): it sends the request once more on a new connection. Such requests
are counted apart (``retried``); a timeout, a second failure or any answer but 200 is
still a failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests


class ClientLoop:
    """``clients`` threads, each with its own session (kept alive, as a real client's),
    calling ``send`` until the ``with`` block ends, ``pause`` seconds apart."""

    def __init__(
        self,
        send: Callable[[requests.Session], requests.Response],
        new_session: Callable[[], requests.Session] = requests.Session,
        clients: int = 3,
        pause: float = 0.0,
        retry_dropped: bool = False,
    ) -> None:
        self.send = send
        self.new_session = new_session
        self.clients = clients
        self.pause = pause
        self.retry_dropped = retry_dropped
        self.ok = 0
        self.retried = 0
        self.failures: list[str] = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _send(self, session: requests.Session) -> requests.Response:
        try:
            return self.send(session)
        except requests.ConnectionError as exc:
            if not self.retry_dropped or isinstance(exc, requests.Timeout):
                raise
        with self._lock:
            self.retried += 1
        return self.send(session)  # the session opens a new connection

    def _run(self) -> None:
        with self.new_session() as session:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    answer = self._send(session)
                    failure = None
                    if answer.status_code != 200:
                        failure = f"{answer.status_code} {answer.text[:200]}"
                except requests.RequestException as exc:
                    failure = repr(exc)
                with self._lock:
                    self.slowest = max(self.slowest, time.monotonic() - start)
                    if failure:
                        self.failures.append(failure)
                    else:
                        self.ok += 1
                self._stop.wait(self.pause)

    def summary(self) -> str:
        retried = f" ({self.retried} sent twice: connection dropped)" if self.retry_dropped else ""
        return (f"{self.clients} clients: {self.ok} answered 200{retried}, "
                f"{len(self.failures)} failed, slowest answer {self.slowest:.2f} s")  # fmt: skip

    def __enter__(self) -> ClientLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
