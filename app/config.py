"""Typed settings: the one place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

GIB = 1024**3

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of the service, read from environment variables (or `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    # Where the embedded default keeps its SQLite file, broker folder, storage and model cache.
    data_dir: Path = Path("data")

    # Services. Empty means the embedded default (SQLite file, filesystem broker).
    database_url: str = ""
    redis_url: str = ""
    broker_url: str = Field(default="", description="Overrides REDIS_URL as the Celery broker")

    # Storage of inputs and result artifacts.
    storage_backend: Literal["local"] = "local"
    storage_dir: Path | None = None

    # Models.
    asr_model: str = "tiny.en"
    asr_models: CommaList = Field(default_factory=lambda: ["tiny.en", "base"])
    diarization_model: str = "pyannote-seg3-campplus"
    device: Literal["cpu", "cuda"] = "cpu"
    compute_type: str = "default"
    cpu_threads: int = 0
    asr_beam_size: int = 5
    model_cache_dir: Path | None = None
    allow_model_downloads: bool = False
    hf_token: SecretStr | None = None
    # What a transcription worker loads before taking its first job (workers/transcribe.py).
    warmup: CommaList = Field(default_factory=lambda: ["asr", "diarization"])

    # Limits.
    max_upload_bytes: int = 2 * GIB
    max_duration_seconds: float = 4 * 3600
    max_speakers: int = 20
    decode_timeout_seconds: float = 600
    job_timeout_seconds: int = 3 * 3600

    # Reliability: leases, heartbeats, the reconciler.
    job_lease_seconds: float = 120
    heartbeat_seconds: float = 5
    max_attempts: int = 3
    reconcile_interval_seconds: float = 30
    requeue_after_seconds: float = 60
    requeue_unknown_broker_after_seconds: float = 3600

    # Embedded launcher (`make run`).
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    # --- Inputs and storage (issue 3) -----------------------------------------------------------
    # Outbound network guard (app/netguard.py) for URL inputs and webhooks: internal addresses are
    # refused unless inside one of these CIDR ranges (comma-separated; empty by default).
    allowed_private_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)
    # Fetching http(s) URL inputs: connect and per-read timeouts, a deadline for the whole
    # download, and how many redirects are followed (each hop is checked by the guard).
    url_connect_timeout_seconds: float = 10
    url_read_timeout_seconds: float = 60
    url_fetch_timeout_seconds: float = 3600
    url_max_redirects: int = 5

    @field_validator("allowed_private_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    # --- Deployment (issue 6): the queue-depth publisher that worker autoscaling reads --------
    # `workers/entrypoint.sh queue-metrics` runs workers/queue_metrics.py. "log" only logs the
    # depths; "cloudwatch" also puts them as CloudWatch metrics (the ECS scaling alarms read
    # them). Kubernetes needs none of this: KEDA reads the Redis list itself.
    queue_metrics_backend: Literal["log", "cloudwatch"] = "log"
    queue_metrics_namespace: str = "ScribeRabbit"
    # The `Deployment` dimension of each metric, so several stacks can share one account.
    queue_metrics_deployment: str = "scribe"
    queue_metrics_interval_seconds: float = 30

    @field_validator("asr_models", "warmup", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def embedded(self) -> bool:
        """True when no external broker is configured (the one-machine default)."""
        return not (self.broker_url or self.redis_url)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        url = self.database_url
        for scheme in ("postgres://", "postgresql://"):
            if url.startswith(scheme):  # the driver we ship is psycopg2
                return "postgresql+psycopg2://" + url[len(scheme) :]
        if url:
            return url
        return f"sqlite:///{(self.data_dir / 'scribe.db').resolve()}"

    @property
    def celery_broker_url(self) -> str:
        """The Celery broker: BROKER_URL, else REDIS_URL, else a local folder broker."""
        return self.broker_url or self.redis_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Folder of the embedded filesystem broker."""
        return (self.data_dir / "broker").resolve()

    @property
    def local_storage_dir(self) -> Path:
        """Root folder of the local storage backend."""
        return (self.storage_dir or self.data_dir / "storage").resolve()

    @property
    def models_dir(self) -> Path:
        """Where assembled or downloaded model files are cached."""
        return (self.model_cache_dir or self.data_dir / "models").resolve()

    @property
    def resolved_compute_type(self) -> str:
        """CTranslate2 compute type: int8 on CPU and float16 on CUDA unless set."""
        if self.compute_type != "default":
            return self.compute_type
        return "float16" if self.device == "cuda" else "int8"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
