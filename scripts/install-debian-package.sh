#!/usr/bin/env bash
# Installs a Debian package when the binary the tests run is missing: the one body of
# scripts/install-chromium.sh and scripts/install-nats.sh (a test tool never downloads a binary).
# Usage: bash scripts/install-debian-package.sh NAME PACKAGE BINARY ENV_VAR
#   NAME     the calling script's name, prefixed to every line (install-chromium)
#   PACKAGE  the apt package (chromium)
#   BINARY   the path the tests run, as the caller resolved it (/usr/bin/chromium)
#   ENV_VAR  the variable that points the tests at another binary (GAMEWIRE_CHROMIUM)
# Runs as root, or with sudo available; does nothing when BINARY is already executable.
set -euo pipefail

if [ "$#" -ne 4 ]; then
  echo "usage: bash scripts/install-debian-package.sh NAME PACKAGE BINARY ENV_VAR" >&2
  exit 2
fi
NAME="$1"
PACKAGE="$2"
BINARY="$3"
ENV_VAR="$4"

if [ -x "$BINARY" ]; then
  echo "$NAME: $BINARY present ($("$BINARY" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "$NAME: not root and no sudo; install it yourself: apt-get install -y $PACKAGE" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$NAME: apt-get not found; install $PACKAGE and set $ENV_VAR to its path" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE"
# The caller's BINARY may have been a guess (nats-server is not on PATH until installed): where
# the package put the command wins.
if [ ! -x "$BINARY" ]; then BINARY="$(command -v "$(basename "$BINARY")" || echo "$BINARY")"; fi
echo "$NAME: installed $("$BINARY" --version 2>/dev/null || echo "$BINARY")"
