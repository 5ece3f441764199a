#!/usr/bin/env bash
# Container entry point: one image, several roles. `docker run IMAGE ROLE [EXTRA ARGS...]`
#
#   api                uvicorn on 0.0.0.0:8000, once the database schema and the broker answer
#   migrate            alembic upgrade head, once the database answers (run it before a rollout)
#   worker-transcribe  the transcription pool (worker image): one job at a time per container
#   worker-default     the default-queue pool (worker image: the enhancement step imports torch):
#                      reconciler, retention, webhooks, enhancement; two processes, so webhooks
#                      are not held up behind one long enhancement (`--concurrency N` overrides)
#   beat               the periodic scheduler: run exactly one
#   flower             `scribe flower`: the task dashboard on FLOWER_ADDRESS:FLOWER_PORT (set
#                      FLOWER_ADDRESS=0.0.0.0 in containers); refuses to start without
#                      FLOWER_BASIC_AUTH
#   queue-metrics      publishes queue depth for autoscalers (QUEUE_METRICS_BACKEND)
#   anything else      runs as a command, e.g. `scribe keys create --name ops`
#
# Workers serve /metrics, /health and /ready on WORKER_METRICS_PORT (0: off) when it is set.
# Every role is exec'd, so it is PID 1 and receives SIGTERM itself: uvicorn drains requests and a
# Celery worker finishes its current job (warm shutdown) before exiting.
set -euo pipefail

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

wait_for() {
  python -m workers.ready "$@"
}

role="${1:-api}"
if [[ $# -gt 0 ]]; then
  shift
fi

case "$role" in
  api)
    wait_for database schema broker
    exec uvicorn app.main:app --host 0.0.0.0 --port 8000 \
      --proxy-headers --forwarded-allow-ips '*' --timeout-graceful-shutdown 30 "$@"
    ;;
  migrate)
    wait_for database
    exec scribe migrate "$@"
    ;;
  worker-transcribe)
    wait_for database schema broker
    exec celery -A workers.transcribe worker -Q transcribe --concurrency 1 -n 'transcribe@%h' \
      --without-gossip --without-mingle --loglevel INFO "$@"
    ;;
  worker-default)
    wait_for database schema broker
    exec celery -A app.celery_app worker -Q default --concurrency 2 -n 'default@%h' \
      --without-gossip --without-mingle --loglevel INFO "$@"
    ;;
  beat)
    wait_for database schema broker
    exec celery -A app.celery_app beat --loglevel INFO "$@"
    ;;
  flower)
    if [[ -z "${FLOWER_BASIC_AUTH:-}" ]]; then
      echo "flower: set FLOWER_BASIC_AUTH=user:password; the dashboard is not served without it" >&2
      exit 64
    fi
    wait_for broker
    # The password reaches Flower through its environment, never its command line.
    exec scribe flower "$@"
    ;;
  queue-metrics)
    wait_for broker
    exec python -m workers.queue_metrics "$@"
    ;;
  help | -h | --help)
    usage
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
