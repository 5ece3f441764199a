"""The `scribe` command: keys, migrations, the embedded service and one-off transcription."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.exc import OperationalError

from app.config import MAX_SECRET_OVERLAP_SECONDS, get_settings
from app.db import session_scope

FORMATS = ("json", "txt", "srt", "vtt", "rttm")


@click.group()
def main() -> None:
    """Scribe Rabbit: speaker-attributed transcripts of recordings."""


@main.command()
def migrate() -> None:
    """Apply database migrations (DATABASE_URL, or the embedded SQLite file)."""
    from app.migrate import upgrade_database

    upgrade_database(get_settings())
    click.echo("database is at the newest revision")


@main.command()
def run() -> None:
    """Start API, workers and beat on this machine (the embedded default) until Ctrl-C."""
    from workers.embedded import run as run_embedded

    sys.exit(run_embedded(get_settings()))


@main.command()
def flower() -> None:
    """Start Flower, the task dashboard, behind basic auth (FLOWER_BASIC_AUTH, FLOWER_PORT)."""
    import os

    from app.ops.flower import FlowerConfigError, flower_command

    try:
        command, env = flower_command(get_settings())
    except FlowerConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    os.execve(command[0], command, env)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


def _db_error(exc: OperationalError) -> click.ClickException:
    return click.ClickException(
        f"the database is not ready ({exc.orig}); run `scribe migrate` (or `make run`) first"
    )


@keys.command("create")
@click.option("--name", required=True, help="A name for the key (shown in lists).")
@click.option("--owner", default=None, help="Tenant that owns the key's jobs (default: name).")
def keys_create(name: str, owner: str | None) -> None:
    """Create a key and print it once."""
    from app.auth.service import create_key

    try:
        with session_scope() as session:
            created = create_key(session, name=name, owner=owner)
            key_id, owner_name = created.key.id, created.key.owner
    except OperationalError as exc:
        raise _db_error(exc) from exc
    click.echo(f"API key (shown once, keep it safe): {created.secret}")
    # On stderr, so `KEY=$(scribe keys create ...)` still captures the key alone.
    click.echo(
        f"Webhook secret (shown once, verifies webhooks): {created.webhook_secret}", err=True
    )
    click.echo(f"id: {key_id}  owner: {owner_name}", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (prefix, owner, state); clear keys are never stored."""
    from app.auth.service import list_keys

    try:
        with session_scope() as session:
            rows = list_keys(session)
    except OperationalError as exc:
        raise _db_error(exc) from exc
    for key in rows:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.prefix}…  {key.name}  owner={key.owner}  {state}")


@keys.command("revoke")
@click.argument("key_ref")
def keys_revoke(key_ref: str) -> None:
    """Revoke a key by its id or visible prefix."""
    from app.auth.service import revoke_key

    try:
        with session_scope() as session:
            key = revoke_key(session, key_ref=key_ref)
    except OperationalError as exc:
        raise _db_error(exc) from exc
    if key is None:
        raise click.ClickException(f"no single key matches {key_ref!r}")
    click.echo(f"revoked {key.prefix}… ({key.name})")


@keys.command("rotate-webhook-secret")
@click.argument("key_ref")
@click.option(
    "--overlap-seconds",
    type=click.FloatRange(min=0, max=MAX_SECRET_OVERLAP_SECONDS),
    default=None,
    help="How long the old secret keeps signing beside the new one, at most 30 days "
    "(default: WEBHOOK_SECRET_OVERLAP_SECONDS).",
)
def keys_rotate_webhook_secret(key_ref: str, overlap_seconds: float | None) -> None:
    """Give a key (id or visible prefix) a new webhook secret and print it once."""
    from app.auth.service import find_key
    from app.webhooks.service import rotate_key_secret

    try:
        with session_scope() as session:
            key = find_key(session, key_ref=key_ref)
            if key is None:
                raise click.ClickException(f"no single key matches {key_ref!r}")
            rotation = rotate_key_secret(
                session, api_key_id=key.id, settings=get_settings(), overlap_seconds=overlap_seconds
            )
    except OperationalError as exc:
        raise _db_error(exc) from exc
    click.echo(f"Webhook secret (shown once, verifies webhooks): {rotation.secret}")
    until = f"{rotation.previous_expires_at:%Y-%m-%d %H:%M:%S} UTC"
    click.echo(f"the previous secret keeps signing until {until}", err=True)


@keys.command("limits")
@click.argument("key_ref")
@click.option("--rate", default=None, help='Request rate, e.g. "5/second;100/minute" ("" = none).')
@click.option("--max-active-jobs", type=int, default=None, help="Queued+running cap (0 = none).")
@click.option("--default", "use_default", is_flag=True, help="Forget this key's own limits.")
def keys_limits(
    key_ref: str, rate: str | None, max_active_jobs: int | None, use_default: bool
) -> None:
    """Give a key its own request rate and active-job cap (others keep the settings)."""
    import uuid

    from sqlalchemy import or_, select

    from app.auth.quotas import quota_for, set_key_limits
    from app.models import ApiKey

    settings = get_settings()
    conditions = [ApiKey.prefix == key_ref]
    try:
        conditions.append(ApiKey.id == uuid.UUID(key_ref))
    except ValueError:
        pass
    try:
        with session_scope() as session:
            keys_found = list(session.scalars(select(ApiKey).where(or_(*conditions))))
            if len(keys_found) != 1:
                raise click.ClickException(f"no single key matches {key_ref!r}")
            key = keys_found[0]
            if use_default:
                set_key_limits(session, key_id=key.id, rate_limit=None, max_active_jobs=None)
            elif rate is not None or max_active_jobs is not None:
                current = quota_for(session, key_id=key.id, settings=settings)
                set_key_limits(
                    session,
                    key_id=key.id,
                    rate_limit=rate if rate is not None else current.rate,
                    max_active_jobs=(
                        max_active_jobs if max_active_jobs is not None else current.max_active_jobs
                    ),
                )
            quota = quota_for(session, key_id=key.id, settings=settings)
    except OperationalError as exc:
        raise _db_error(exc) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rate") from exc
    click.echo(
        f"{key.prefix}…  rate: {quota.rate or 'unlimited'}  "
        f"max active jobs: {quota.max_active_jobs or 'unlimited'}"
    )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--diarize/--no-diarize", default=False, help="Label speakers.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="txt", show_default=True)
@click.option("--model", default=None, help="ASR model (default: ASR_MODEL).")
@click.option("--language", default=None, help="Language code; detected when absent.")
@click.option("--num-speakers", type=int, default=None)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def transcribe(
    file: Path,
    diarize: bool,
    fmt: str,
    model: str | None,
    language: str | None,
    num_speakers: int | None,
    output: Path | None,
) -> None:
    """Transcribe FILE here and now, without the service (progress on stderr)."""
    from pydantic import ValidationError
    from tqdm import tqdm

    from app.jobs.schemas import TranscriptionOptions
    from app.pipeline.errors import PipelineError
    from app.pipeline.formats import RENDERERS
    from app.pipeline.transcribe import transcribe_file

    settings = get_settings()
    try:
        options = TranscriptionOptions(
            model=model or settings.asr_model,
            language=language,
            diarize=diarize,
            num_speakers=num_speakers,
        ).model_dump(mode="json")
    except ValidationError as exc:
        raise click.UsageError(str(exc)) from exc
    if fmt == "rttm" and not diarize:
        raise click.UsageError("--format rttm needs --diarize")

    with tqdm(total=100, unit="%", file=sys.stderr, desc="starting", leave=False) as bar:

        def progress(stage: str, percent: int) -> None:
            bar.set_description(stage)
            bar.update(max(0, percent - bar.n))

        try:
            result = transcribe_file(
                file,
                options,
                settings=settings,
                progress=progress,
                should_stop=lambda: None,
                recording_id=file.stem,
            )
        except PipelineError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        bar.update(100 - bar.n)
    text = RENDERERS[fmt](result) or ""
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":
    main()
