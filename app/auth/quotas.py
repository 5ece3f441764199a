"""Per-key quotas, so one tenant cannot starve the others.

- Request rate: every authenticated request counts against its key's limits (`limits` notation,
  such as "20/second;600/minute"), in a sliding-window counter kept in Redis, so every API
  process shares it; in the embedded default (no Redis) the counters live in process memory.
  Over the rate: 429 with Retry-After. Every answer carries RateLimit-* headers.
- Active jobs: a key may have at most N jobs queued or running. They are counted in the
  database (the truth about jobs) under a lock on the key's row, in the transaction that adds
  the new job, so two simultaneous submissions cannot both slip under the cap, and the count
  never drifts when a worker dies or Redis is flushed.

A key's own values (table api_key_limits, `scribe keys limits`) override the settings.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

# Imported while the module loads, before requests run in threads: limits reads
# sys.modules["redis"].__version__ without waiting for an import another thread has under way
# (limits.util.get_dependency), so two first requests of a fresh process could see a half-made
# module ("minimum version of 3.0 for 'redis' ... Found version: 0.0.0") and answer 500.
import redis  # noqa: F401
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import DomainError
from app.models import ApiKey, ApiKeyLimits, Job, JobStatus

log = logging.getLogger(__name__)

ACTIVE_RETRY_AFTER_SECONDS = 10
REDIS_TIMEOUT_SECONDS = 1.0


class QuotaExceeded(DomainError):
    """A key went over one of its limits (429)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str]) -> None:
        super().__init__(message, code=code)
        self.headers = headers


@dataclass(frozen=True)
class KeyQuota:
    """The limits that apply to one key."""

    rate: str  # limits notation; empty means no request limit
    max_active_jobs: int  # 0 means no cap


def quota_for(session: Session, *, key_id: uuid.UUID, settings: Settings) -> KeyQuota:
    """The key's own limits where it has them, else the settings' defaults."""
    row = session.get(ApiKeyLimits, key_id)
    rate = row.rate_limit if row is not None and row.rate_limit is not None else None
    cap = row.max_active_jobs if row is not None else None
    return KeyQuota(
        rate=settings.rate_limit if rate is None else rate,
        max_active_jobs=settings.max_active_jobs_per_key if cap is None else cap,
    )


def set_key_limits(
    session: Session, *, key_id: uuid.UUID, rate_limit: str | None, max_active_jobs: int | None
) -> ApiKeyLimits:
    """Give a key its own limits (None keeps the default for that limit)."""
    if rate_limit:
        parse_many(rate_limit)  # a ValueError names what is wrong with it
    row = session.get(ApiKeyLimits, key_id) or ApiKeyLimits(key_id=key_id)
    row.rate_limit = rate_limit
    row.max_active_jobs = max_active_jobs
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against a key's rate, with the headers to answer."""

    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


def _policy(items: list[RateLimitItem]) -> str:
    return ", ".join(f"{item.amount};w={item.get_expiry()}" for item in items)


class RequestRateLimiter:
    """Sliding-window request counters per key, in the configured `limits` storage."""

    def __init__(self, storage_uri: str) -> None:
        options: dict[str, float | str | bool] = {}
        if storage_uri.startswith(("redis://", "rediss://", "unix://")):
            # A Redis that does not answer must cost a request a second at most, not hang it.
            options = {"socket_timeout": REDIS_TIMEOUT_SECONDS}
            options["socket_connect_timeout"] = REDIS_TIMEOUT_SECONDS
        self.storage = storage_from_string(storage_uri, wrap_exceptions=True, **options)
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    def hit(self, rate: str, key_id: uuid.UUID) -> RateDecision:
        """Count one request; refused when any of the key's limits is used up."""
        items = _parse(rate)
        if not items:
            return RateDecision(True, {})
        now = time.time()
        refused: RateLimitItem | None = None
        for item in items:
            if not self.limiter.hit(item, "key", str(key_id)):
                refused = item
                break
        stats = {item: self.limiter.get_window_stats(item, "key", str(key_id)) for item in items}
        # The headers describe the limit closest to running out (or the one that refused).
        nearest = refused or min(items, key=lambda item: stats[item].remaining)
        reset = max(1, math.ceil(stats[nearest].reset_time - now))
        headers = {
            "RateLimit-Limit": str(nearest.amount),
            "RateLimit-Remaining": str(max(0, stats[nearest].remaining)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": _policy(items),
        }
        if refused is None:
            return RateDecision(True, headers)
        headers["Retry-After"] = str(reset)
        return RateDecision(False, headers, reset)


@lru_cache(maxsize=64)
def _parse(rate: str) -> list[RateLimitItem]:
    return parse_many(rate) if rate.strip() else []


@lru_cache
def get_rate_limiter(storage_uri: str) -> RequestRateLimiter:
    """One limiter per storage for the process."""
    return RequestRateLimiter(storage_uri)


def check_request_rate(
    session: Session, *, key_id: uuid.UUID, settings: Settings
) -> dict[str, str]:
    """Count a request of `key_id`; returns the RateLimit headers, raises QuotaExceeded (429)."""
    quota = quota_for(session, key_id=key_id, settings=settings)
    if not quota.rate:
        return {}
    try:
        decision = get_rate_limiter(settings.rate_limit_storage).hit(quota.rate, key_id)
    except StorageError as exc:
        # Refusing every request because the counter store blinked would be worse than letting a
        # burst through; the metric and the log say it happened.
        from app.ops.metrics import RATE_LIMIT_ERRORS

        RATE_LIMIT_ERRORS.inc()
        log.warning("rate limit not checked, counter store unreachable: %s", exc)
        return {}
    if decision.allowed:
        return decision.headers
    from app.ops.metrics import RATE_LIMITED

    RATE_LIMITED.labels(limit="requests").inc()
    raise QuotaExceeded(
        f"This API key is over its request rate ({quota.rate}); "
        f"try again in {decision.retry_after} s.",
        headers=decision.headers,
    )


def check_active_jobs(session: Session, *, key_id: uuid.UUID | None, settings: Settings) -> None:
    """Refuse a new job when the key already has its cap of queued and running jobs.

    Locks the key's row until the caller's transaction ends, so concurrent submissions of one
    key are counted one after the other.
    """
    if key_id is None:
        return
    cap = quota_for(session, key_id=key_id, settings=settings).max_active_jobs
    if cap <= 0:
        return
    session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())
    active = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.api_key_id == key_id,
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            Job.deleted_at.is_(None),
        )
    )
    if (active or 0) < cap:
        return
    from app.ops.metrics import RATE_LIMITED

    RATE_LIMITED.labels(limit="active_jobs").inc()
    raise QuotaExceeded(
        f"This API key already has {active} jobs queued or running (its cap is {cap}); "
        "submit more when some have finished.",
        code="too_many_active_jobs",
        headers={"Retry-After": str(ACTIVE_RETRY_AFTER_SECONDS)},
    )
