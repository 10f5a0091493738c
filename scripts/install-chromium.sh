#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (test/browser/) when it is missing.
# playwright-core never downloads a browser here: the tests drive this system binary.
# Usage: bash scripts/install-chromium.sh   (as root, or with sudo available)
set -euo pipefail

exec bash "$(dirname "${BASH_SOURCE[0]}")/install-debian-package.sh" \
  install-chromium chromium "${GAMEWIRE_CHROMIUM:-/usr/bin/chromium}" GAMEWIRE_CHROMIUM
