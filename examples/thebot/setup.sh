#!/usr/bin/env bash
# Installs, idempotently, what the thebot reference stack needs beyond
# .ci/setup: mmdebstrap (builds the base images from Debian packages) and
# Debian's docker-registry (the local registry the CI-like step pushes to).
# Safe to run again: it installs only what is missing.
set -euo pipefail
need=()
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The package may start its own registry on :5000 through systemd; thebot
# runs a separate instance (127.0.0.1:15000, its own config and storage), so
# the packaged one is left as it is: it is not this stack's to stop.
