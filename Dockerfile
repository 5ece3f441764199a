# syntax=docker/dockerfile:1
# The API image. It runs every process that does not need the ML stack: the API, migrations,
# beat, Flower and the queue-depth publisher (workers/entrypoint.sh picks the role). Both
# workers run the worker image: the default worker's enhancement step imports torch and spaCy. It installs requirements.txt only, so it never
# contains torch: `make deploy-check` proves that from this file.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY pyproject.toml README.md alembic.ini ./
COPY migrations ./migrations
COPY workers ./workers
COPY app ./app
# Editable, so alembic.ini and migrations/ stay beside the package where app/migrate.py finds them.
RUN pip install --no-cache-dir --no-deps -e . \
    && python -m compileall -q /app/app /app/workers /app/migrations

FROM python:3.11-slim-bookworm AS api
# One fixed, unprivileged uid everywhere (compose, ECS, Kubernetes), and a writable data folder;
# everything else may be mounted read-only.
RUN groupadd --system --gid 10001 scribe \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin scribe \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/scribe /var/lib/scribe/storage
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    DATA_DIR=/var/lib/scribe \
    LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/scribe"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "workers.healthcheck", "api"]
ENTRYPOINT ["/app/workers/entrypoint.sh"]
CMD ["api"]
