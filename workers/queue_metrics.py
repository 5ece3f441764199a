"""Queue depth for autoscalers that cannot read Redis themselves (AWS CloudWatch alarms).

    python -m workers.queue_metrics [--once]

Every QUEUE_METRICS_INTERVAL_SECONDS it reads, per Celery queue, how many messages wait
(`QueueWaiting`) and how many wait or are being worked on (`QueueBacklog` = waiting plus
delivered-but-unacknowledged: with acks_late and prefetch 1 that is the jobs running now).
The ECS scaling policies add transcription workers while jobs wait, and scale in (to zero where
wanted) only when the backlog has been empty for a while, so no running job is cut short.
It only reads the broker: the waiting counts come from app.broker.queue_depths (the same
count the API's scribe_rabbit_queue_depth gauge and the reconciler use), the running ones from
kombu's unacked hash. It never consumes a message.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app import broker, tasknames
from app.config import Settings, get_settings
from app.logs import configure_logging

log = logging.getLogger("workers.queue_metrics")

QUEUES = (tasknames.QUEUE_TRANSCRIBE, tasknames.QUEUE_DEFAULT)
# kombu's Redis transport keeps delivered, unacknowledged messages in this hash.
_UNACKED = "unacked"
HEARTBEAT_FILE = "queue-metrics.heartbeat"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class QueueDepth:
    """Messages of one queue: waiting in the list, and delivered but not yet acknowledged."""

    queue: str
    waiting: int
    reserved: int

    @property
    def backlog(self) -> int:
        """Jobs waiting plus jobs being worked on."""
        return self.waiting + self.reserved


def read_depths(settings: Settings, queues: tuple[str, ...] = QUEUES) -> list[QueueDepth]:
    """Each queue's depth on a Redis broker, read without consuming anything."""
    url = settings.celery_broker_url
    if not url.startswith(REDIS_SCHEMES):
        # Only Redis shows which delivered messages are still being worked on (the backlog
        # that keeps workers from being scaled in under a running job).
        raise RuntimeError(f"queue metrics need a Redis broker, not {url.split(':', 1)[0]}")
    waiting = broker.queue_depths(settings, list(queues))
    reserved = _reserved(url, queues)
    return [QueueDepth(q, waiting[q], reserved[q]) for q in queues]


def _reserved(redis_url: str, queues: tuple[str, ...]) -> dict[str, int]:
    """Delivered but unacknowledged messages per queue (jobs running now)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        reserved = dict.fromkeys(queues, 0)
        for raw in client.hvals(_UNACKED):
            routing_key = _routing_key(raw)
            if routing_key in reserved:
                reserved[routing_key] += 1
        return reserved
    finally:
        client.close()


def _routing_key(raw: bytes | str) -> str | None:
    # An unacked entry is [message, exchange, routing_key]; our queues use the anonymous
    # exchange, so the routing key is the queue name.
    try:
        entry = json.loads(raw)
        return str(entry[2])
    except (ValueError, IndexError, TypeError, KeyError):
        return None


class Publisher(Protocol):
    """Sends one sample of every queue somewhere an autoscaler reads."""

    def publish(self, depths: list[QueueDepth]) -> None:
        """Publish the depths."""


class LogPublisher:
    """Logs the depths (a deployment whose autoscaler reads Redis directly, or a trial run)."""

    def publish(self, depths: list[QueueDepth]) -> None:
        """Log one line per queue."""
        for depth in depths:
            log.info("queue %s: waiting=%d reserved=%d", depth.queue, depth.waiting, depth.reserved)


class CloudWatchPublisher:
    """Puts QueueWaiting and QueueBacklog per queue as CloudWatch metrics."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch")  # region and credentials: the task role
        self.client = client
        self.namespace = settings.queue_metrics_namespace
        self.deployment = settings.queue_metrics_deployment

    def metric_data(self, depths: list[QueueDepth]) -> list[dict[str, Any]]:
        """The PutMetricData entries for one sample."""
        data: list[dict[str, Any]] = []
        for depth in depths:
            dimensions = [
                {"Name": "Deployment", "Value": self.deployment},
                {"Name": "Queue", "Value": depth.queue},
            ]
            for name, value in (("QueueWaiting", depth.waiting), ("QueueBacklog", depth.backlog)):
                data.append(
                    {
                        "MetricName": name,
                        "Dimensions": dimensions,
                        "Value": float(value),
                        "Unit": "Count",
                    }
                )
        return data

    def publish(self, depths: list[QueueDepth]) -> None:
        """Send one PutMetricData call for all queues."""
        self.client.put_metric_data(Namespace=self.namespace, MetricData=self.metric_data(depths))


def make_publisher(settings: Settings) -> Publisher:
    """The publisher QUEUE_METRICS_BACKEND names."""
    if settings.queue_metrics_backend == "cloudwatch":
        return CloudWatchPublisher(settings)
    return LogPublisher()


def heartbeat_path(settings: Settings) -> Path:
    """A file touched after every successful sample (the container health check reads it)."""
    return settings.data_dir / HEARTBEAT_FILE


def publish_once(settings: Settings, publisher: Publisher) -> list[QueueDepth]:
    """Read the broker, publish, and touch the heartbeat file."""
    depths = read_depths(settings)
    publisher.publish(depths)
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time()))
    return depths


def run(settings: Settings, publisher: Publisher, *, iterations: int | None = None) -> None:
    """Publish every interval, forever (or `iterations` times); a failed sample is logged."""
    done = 0
    while iterations is None or done < iterations:
        started = time.monotonic()
        try:
            publish_once(settings, publisher)
        except Exception:
            log.exception("queue depth sample failed")
        done += 1
        if iterations is None or done < iterations:
            spent = time.monotonic() - started
            time.sleep(max(0.0, settings.queue_metrics_interval_seconds - spent))


def main(argv: list[str] | None = None) -> int:
    """Command line: publish forever, or once with --once."""
    parser = argparse.ArgumentParser(prog="python -m workers.queue_metrics", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one sample, then exit")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    publisher = make_publisher(settings)
    if args.once:
        for depth in publish_once(settings, publisher):
            print(f"{depth.queue}: waiting={depth.waiting} reserved={depth.reserved}")
        return 0
    log.info(
        "publishing queue depth every %gs to %s",
        settings.queue_metrics_interval_seconds,
        settings.queue_metrics_backend,
    )
    run(settings, publisher)
    return 0


if __name__ == "__main__":
    sys.exit(main())
