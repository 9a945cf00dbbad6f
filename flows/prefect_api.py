"""Prefect's temporary local API for one `papers run`, booted while the run does its own start-up.

Prefect 3 needs an API for every flow run. With no server configured it starts a temporary one itself, but
only when the flow starts, and importing the class that does it loads the whole server app into this process
(~4.6 s here) before the server's own boot (~5 s). Measured on the seed: 9.2 s of a 21 s run.

This module launches the same server process as Prefect does (uvicorn serving
`prefect.server.api.server:create_app`, UI off, marked ephemeral) without importing it, on a port the OS
picked as free, as soon as the CLI knows a flow will run; the CLI imports the pipeline meanwhile, and the flow
runs with PREFECT_API_URL pointing at it. When a server is configured (PREFECT_API_URL in the environment or
the Prefect profile) nothing is launched.

Ports come from the OS. Prefect's own start picks a random port in 8000-8999 and checks it is free: two runs
starting together could pick the same one, and the loser ran against the winner's API, which vanished when the
other run ended (it failed after publishing). A server that still loses its port is launched again elsewhere.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT_S = 120.0
_LAUNCH_ATTEMPTS = 3  # a port taken between our probe and the server's bind: try another one


class TemporaryAPI:
    """One temporary Prefect API process: launch(), then settings() around the flow call, then stop()."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self._attempts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> None:
        """Start the server process unless PREFECT_API_URL is set in the environment; returns at once."""
        if os.environ.get("PREFECT_API_URL"):
            return
        self._attempts += 1
        self.port = free_port()
        app_dir = Path(importlib.util.find_spec("prefect").origin).parent.parent
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        uvicorn = ["--app-dir", str(app_dir), "--factory", "prefect.server.api.server:create_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        if sys.platform.startswith("linux"):
            command = [sys.executable, "-c", _DIES_WITH_PARENT, str(os.getpid()), *uvicorn]
        else:
            command = [sys.executable, "-m", "uvicorn", *uvicorn]
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

    @contextlib.contextmanager
    def settings(self) -> Iterator[None]:
        """Prefect settings for the flow call: this API, once it answers; or the configured server, untouched."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        if self.process is None:
            yield
            return
        if PREFECT_API_URL.value():  # configured in the Prefect profile: use that server, not ours
            self.stop()
            yield
            return
        self._wait_until_healthy()
        with temporary_settings(updates={PREFECT_API_URL: self.url}):
            yield

    def stop(self) -> None:
        """Send what Prefect still holds (logs, events) to the API, then stop the server process."""
        if self.process is None:
            return
        if "prefect" in sys.modules:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            for worker in (APILogWorker, EventsWorker):
                with contextlib.suppress(Exception):  # stopping must not mask the run's outcome
                    worker.drain_all(timeout=5)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _wait_until_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    if self._attempts >= _LAUNCH_ATTEMPTS:
                        raise RuntimeError(
                            f"Prefect's temporary API exited with code {self.process.returncode} on port {self.port}"
                        )
                    self.launch()
                    continue
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prefect's temporary API did not answer within {STARTUP_TIMEOUT_S:.0f} s")


# Run in the server's process before it becomes uvicorn: the kernel stops it when this run's process dies, even
# by SIGKILL when no `finally` runs (Prefect's own temporary server outlives a killed run). The setting survives
# exec; a run that died before it was set is caught by the parent check.
_DIES_WITH_PARENT = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)
os.execv(sys.executable, [sys.executable, "-m", "uvicorn", *sys.argv[2:]])
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the OS says is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
