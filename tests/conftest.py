"""Test environment: a fresh PostgreSQL database, a private Redis server, real Celery processes.

Everything is configured through environment variables before the app is imported, exactly as
a deployment configures it. Each test session gets its own database and its own Redis server
(so FLUSHALL and restarts touch nothing else), and tenants are isolated by fresh API keys.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
TMP = Path(tempfile.mkdtemp(prefix="scribe-tests-"))
ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = f"scribe_test_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


class RedisServer:
    """A private redis-server for this test session (no persistence, like production's cache)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(TMP),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


REDIS = RedisServer()
if shutil.which("redis-server"):
    REDIS.start()
    REDIS_URL = REDIS.url
else:  # fall back to a server the environment names
    REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

TEST_ENV = {
    "ENVIRONMENT": "test",
    "DATA_DIR": str(TMP / "data"),
    "DATABASE_URL": _database_url(DB_NAME),
    "REDIS_URL": REDIS_URL,
    "BROKER_URL": "",
    "STORAGE_DIR": str(TMP / "storage"),
    "MODEL_CACHE_DIR": str(ROOT / ".cache" / "models"),
    "JOB_LEASE_SECONDS": "6",
    "HEARTBEAT_SECONDS": "1",
    "RECONCILE_INTERVAL_SECONDS": "1",
    "REQUEUE_AFTER_SECONDS": "3",
    "MAX_ATTEMPTS": "3",
    "CPU_THREADS": "2",
    "LOG_LEVEL": "INFO",
    # Issue 4: webhook retries in seconds, not hours, and a short HTTP timeout.
    "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "WEBHOOK_REQUEUE_AFTER_SECONDS": "3",
    "ENHANCEMENT_PROVIDER": "offline",
    # Operations (issue 5): every process of the session (API in pytest, workers, beat) writes
    # its metrics here, so the API's /metrics adds them up as on one production host.
    "PROMETHEUS_MULTIPROC_DIR": str(TMP / "metrics"),
    "WORKER_METRICS_PORT": "0",
    # Generous for the suite; tests of the limits give their keys their own, small ones.
    "RATE_LIMIT": "200/second;20000/minute",
    "MAX_ACTIVE_JOBS_PER_KEY": "50",
    # URL-input tests serve files from 127.0.0.1; SSRF tests build settings without this.
    "ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
    # Credentials for the S3 emulator (moto takes any); boto3's own chain reads them.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
(TMP / "metrics").mkdir()
os.environ.update(TEST_ENV)


def _create_database() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    engine.dispose()


def _drop_database() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """A migrated database for the session, dropped afterwards."""
    from app.config import get_settings
    from app.migrate import upgrade_database

    _create_database()
    upgrade_database(get_settings())
    yield TEST_ENV["DATABASE_URL"]
    from app.db import get_engine

    get_engine().dispose()
    _drop_database()
    REDIS.stop()
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """The API in-process (its Celery producer talks to the real Redis)."""
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def make_key() -> Callable[..., str]:
    """Create an API key for a fresh tenant; returns the clear key."""
    from app.auth.service import create_key
    from app.db import session_scope

    def _make(owner: str | None = None) -> str:
        with session_scope() as session:
            created = create_key(
                session, name="test", owner=owner or f"tenant-{uuid.uuid4().hex[:8]}"
            )
            return created.secret

    return _make


@pytest.fixture()
def api_key(make_key: Callable[..., str]) -> str:
    return make_key()


class CeleryProcess:
    """A real `celery worker` (or `beat`) process with its own log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        app: str = "app.celery_app",
    ) -> None:
        self.name = name
        self.args = args
        self.app = app
        self.env = {**os.environ, **(env or {})}
        self.log_path = TMP / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_marker: str | None = "ready.", timeout: float = 60) -> None:
        self.log_path = TMP / f"{self.name}-{uuid.uuid4().hex[:6]}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", self.app, *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        if ready_marker:
            self.wait_for_log(ready_marker, timeout)

    def wait_for_log(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        """Pids of the prefork pool children."""
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool, as a dying container."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def worker(database: str) -> Iterator[CeleryProcess]:
    """One worker consuming both queues, with one pool child, like a small GPU node."""
    proc = CeleryProcess(
        "worker",
        [
            "worker",
            "-Q",
            "transcribe,default",
            "--concurrency",
            "1",
            "-n",
            f"test-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def beat(database: str) -> Iterator[CeleryProcess]:
    """Celery beat, sending the reconciler every second."""
    proc = CeleryProcess("beat", ["beat", "--loglevel", "INFO", "-s", str(TMP / "beat-schedule")])
    proc.start(ready_marker="beat: Starting")
    yield proc
    proc.stop()


def wait_for_job(
    client: Any,
    key: str,
    job_id: str,
    *,
    until: Callable[[dict[str, Any]], bool] | None = None,
    timeout: float = 180,
) -> dict[str, Any]:
    """Poll the job until it ends (or `until` holds); fail with the job on timeout."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": key}).json()
        if until(job) if until else job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")


@pytest.fixture(scope="session")
def pyannote_sample() -> Path:
    """The two-speaker telephone sample that ships inside the pyannote.audio wheel."""
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


def upload(client: Any, key: str, path: Path, **options: Any) -> dict[str, Any]:
    """POST a file to /transcribe as multipart; returns the 202 body."""
    with path.open("rb") as fh:
        response = client.post(
            "/api/v1/transcribe",
            headers={"X-API-Key": key},
            files={"file": (path.name, fh, "application/octet-stream")},
            data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()},
        )
    assert response.status_code == 202, response.text
    return dict(response.json())


# --- Object-store emulators (issue 3): the real boto3 / google-cloud-storage clients over HTTP --


class EmulatorProcess:
    """A storage emulator in its own process, listening on a free 127.0.0.1 port."""

    def __init__(self, name: str, command: list[str], port: int) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = TMP / f"{name}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{name} did not start:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode: an S3 endpoint URL."""
    port = free_port()
    server = EmulatorProcess(
        "moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port
    )
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator, in memory: a STORAGE_EMULATOR_HOST value."""
    port = free_port()
    server = EmulatorProcess(
        "gcs-emulator",
        [
            str(BIN / "gcp-storage-emulator"),
            "start",
            "-H",
            "127.0.0.1",
            "--port",
            str(port),
            "-M",
            "-q",
        ],
        port,
    )
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def gcs_key_file() -> Path:
    """A service-account key made here: signs GCS URLs locally, as a real key would."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = TMP / "gcs-service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "scribe-test",
                "private_key_id": uuid.uuid4().hex,
                "private_key": pem,
                "client_email": "scribe-test@scribe-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    return path


class ServiceStack:
    """The service as a deployment runs it, in its own processes: a uvicorn API and, if asked,
    a Celery worker and beat, configured only through the environment, on a database and a
    Redis database of their own (so its jobs never meet the session's worker or reconciler)."""

    _redis_db = 1

    def __init__(self, name: str, env: dict[str, str], *, worker: bool, beat: bool) -> None:
        from sqlalchemy import create_engine, text

        self.name = name
        self.db_name = f"{DB_NAME}_{name}"
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        engine.dispose()
        ServiceStack._redis_db += 1
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(self.db_name),
            "REDIS_URL": REDIS_URL.rsplit("/", 1)[0] + f"/{ServiceStack._redis_db}",
            "DATA_DIR": str(TMP / name),
            "STORAGE_DIR": str(TMP / name / "storage"),
            **env,
        }
        subprocess.run([str(BIN / "scribe"), "migrate"], env=self.env, check=True, cwd=ROOT)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_log = TMP / f"api-{name}.log"
        self.api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
            + ["--port", str(self.port), "--log-level", "warning"],
            env=self.env,
            cwd=ROOT,
            stdout=self.api_log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes: list[CeleryProcess] = []
        try:
            self._wait_for_api()
            if worker:
                self.processes.append(
                    CeleryProcess(
                        f"worker-{name}",
                        ["worker", "-Q", "transcribe,default", "--concurrency", "1"]
                        + ["-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip"]
                        + ["--without-mingle", "--loglevel", "INFO"],
                        env=self.env,
                    )
                )
            if beat:
                schedule = str(TMP / f"beat-{name}")
                self.processes.append(
                    CeleryProcess(
                        f"beat-{name}", ["beat", "--loglevel", "INFO", "-s", schedule], env=self.env
                    )
                )
            for proc in self.processes:
                proc.start(ready_marker="ready." if "worker" in proc.name else "beat: Starting")
        except BaseException:
            self.stop()
            raise

    def _wait_for_api(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"API {self.name} did not start:\n{self.api_log.read_text()[-3000:]}")

    def make_key(self) -> str:
        """An API key, created with the `scribe` command as an operator would."""
        out = subprocess.run(
            [str(BIN / "scribe"), "keys", "create", "--name", f"test-{uuid.uuid4().hex[:6]}"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().rsplit(" ", 1)[1]

    def logs(self) -> str:
        return "\n".join(p.log()[-3000:] for p in self.processes) + self.api_log.read_text()[-3000:]

    def stop(self) -> None:
        from sqlalchemy import create_engine, text

        for proc in self.processes:
            proc.stop()
        if self.api.poll() is None:
            os.killpg(self.api.pid, signal.SIGTERM)
            self.api.wait(15)
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        engine.dispose()


# --- Issue 4: webhooks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A tenant's API key and the webhook secret shown once beside it."""

    key: str
    webhook_secret: str
    key_id: uuid.UUID


@pytest.fixture()
def tenant() -> Tenant:
    """A fresh tenant with its key and webhook secret."""
    from app.auth.service import create_key
    from app.db import session_scope

    with session_scope() as session:
        created = create_key(session, name="webhooks", owner=f"tenant-{uuid.uuid4().hex[:8]}")
        return Tenant(created.secret, created.webhook_secret, created.key.id)


@pytest.fixture()
def receiver(tenant: Tenant) -> Iterator[Any]:
    """The tenant's webhook endpoint on 127.0.0.1, verifying with `standardwebhooks`."""
    from tests.webhooks.receiver import WebhookReceiver

    server = WebhookReceiver(tenant.webhook_secret)
    yield server
    server.close()
