#!/usr/bin/env bash
# System packages the service needs beside Python: ffmpeg/ffprobe (probe and decode media) and,
# for the test suite, a redis-server binary. Installs them with apt when missing and allowed.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
if [[ "${1:-}" == "--test" ]]; then
  command -v redis-server >/dev/null || need+=(redis-server)
fi
[[ ${#need[@]} -eq 0 ]] && exit 0

if command -v apt-get >/dev/null; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "installing system packages: ${need[*]}"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "please install: ${need[*]} (needed on PATH)" >&2
  exit 1
fi
