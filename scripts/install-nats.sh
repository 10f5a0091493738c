#!/usr/bin/env bash
# Installs Debian's nats-server for the relay cluster tests when it is missing. The tests start
# their own server on a free loopback port and stop it by PID; they skip, loudly, without it.
# Usage: bash scripts/install-nats.sh   (as root, or with sudo available)
set -euo pipefail

NATS="${GAMEWIRE_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
if [ -x "$NATS" ]; then
  echo "install-nats: $NATS present ($("$NATS" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-nats: not root and no sudo; install it yourself: apt-get install -y nats-server" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-nats: apt-get not found; install nats-server and set GAMEWIRE_NATS_SERVER to its path" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nats-server
NATS="$(command -v nats-server || echo /usr/sbin/nats-server)"
echo "install-nats: installed $("$NATS" --version 2>/dev/null || echo "$NATS")"
