#!/usr/bin/env bash
# Installs Debian's nats-server for the relay cluster tests when it is missing. The tests start
# their own server on a free loopback port and stop it by PID; they skip, loudly, without it.
# Usage: bash scripts/install-nats.sh   (as root, or with sudo available)
set -euo pipefail

exec bash "$(dirname "${BASH_SOURCE[0]}")/install-debian-package.sh" \
  install-nats nats-server "${GAMEWIRE_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}" GAMEWIRE_NATS_SERVER
