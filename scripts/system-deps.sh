#!/usr/bin/env bash
# System packages the service needs beside Python: ffmpeg/ffprobe (probe and decode media) and,
# for the test suite (--test), a redis-server binary, Chromium (the Flower screenshot test
# renders the dashboard headless) and ChromeDriver (the web app's browser test drives Chromium
# with Selenium); with --ops, promtool (Debian's prometheus package).
# Installs them with apt when missing and allowed.
set -euo pipefail

need=()
if [[ "${1:-}" == "--ops" ]]; then
  # `make check-ops` only: promtool (and the prometheus server the dashboard test starts) come
  # with Debian's prometheus package, about 100 MB, so nothing else installs it.
  command -v promtool >/dev/null && command -v prometheus >/dev/null || need+=(prometheus)
else
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
fi
if [[ "${1:-}" == "--test" ]]; then
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
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
