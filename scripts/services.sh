#!/usr/bin/env bash
# Make sure the PostgreSQL server the integration tests use is up (they start their own Redis).
# Starts a locally installed cluster if it is down; does nothing when it already answers.
set -euo pipefail

host=127.0.0.1
port=5432
pg_up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL is not reachable on $host:$port (set TEST_POSTGRES_ADMIN_URL)" >&2; exit 1; }
