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
# The package starts a registry on :5000 through systemd where systemd runs;
# thebot runs its own instance (its own port, config and storage), so stop the
# packaged one if it is running to keep :5000 free.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
