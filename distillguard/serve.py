"""``distillguard serve``: everything one machine needs to run the flows on their schedules.

When no Prefect API is configured (``PREFECT_API_URL`` unset in the environment and in the
active Prefect profile), a local Prefect server is started first, with its own
``PREFECT_HOME`` under the working directory (``.prefect/``: SQLite database and logs), so
nothing is shared with other Prefect users of the machine. Then the deployments of
:mod:`distillguard.flows.deployments` are served with their cron schedules until Ctrl-C.

Start it where the logs arrive::

    distillguard serve --logs /data/incoming            # UI on http://127.0.0.1:4200
    PREFECT_API_URL=http://prefect:4200/api distillguard serve --no-stream   # shared server
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

DEFAULT_PORT = 4200
SERVER_START_TIMEOUT_S = 90.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server child gets SIGTERM when ``distillguard serve`` dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ServerStartError(RuntimeError):
    """The local Prefect server did not come up."""


@dataclass
class LocalServer:
    api_url: str
    home: Path
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def configured_api_url() -> str | None:
    """The Prefect API this process would talk to, from the environment or the active profile."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_local_server(home: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                       timeout_s: float = SERVER_START_TIMEOUT_S) -> LocalServer:
    """``prefect server start`` as a child process with ``PREFECT_HOME=home``; waits until it answers."""
    home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://{host}:{port}/api"
    if healthy(api_url):
        raise ServerStartError(f"something already answers on {api_url}; set PREFECT_API_URL to use it, or pick --port")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    server = LocalServer(api_url=api_url, home=home, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"Prefect server exited with code {process.returncode}; see {log_path}")
        if healthy(api_url):
            return server
        time.sleep(0.5)
    server.stop()
    raise ServerStartError(f"Prefect server did not answer on {api_url} within {timeout_s:g}s; see {log_path}")


@contextmanager
def prefect_api(home: Path, *, port: int = DEFAULT_PORT) -> Iterator[str]:
    """The Prefect API to use: the configured one, or a local server started (and stopped) here."""
    os.environ.setdefault("PREFECT_HOME", str(home))
    url = configured_api_url()
    if url:
        yield url
        return
    server = start_local_server(Path(os.environ["PREFECT_HOME"]), port=port)
    os.environ["PREFECT_API_URL"] = server.api_url  # flow-run subprocesses inherit it
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        server.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def serve(*, logs: list[Path] | None = None, include_stream: bool = True, port: int = DEFAULT_PORT,
          home: Path | None = None) -> None:
    """Start (or reach) the Prefect API, then serve the scheduled deployments until interrupted."""
    from distillguard.config import load_settings

    settings = load_settings()
    home = (home or Path.cwd() / ".prefect").resolve()
    # `docker stop` and service managers send SIGTERM: shut down like Ctrl-C so the server stops too.
    signal.signal(signal.SIGTERM, _interrupt)
    with prefect_api(home, port=port) as api_url:
        from prefect import serve as prefect_serve

        from distillguard.flows.deployments import build_deployments

        print(f"Prefect API: {api_url}", file=sys.stderr, flush=True)
        deployments = build_deployments(settings, logs=logs, include_stream=include_stream)
        prefect_serve(*deployments, pause_on_shutdown=False)
