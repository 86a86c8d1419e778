#!/usr/bin/env bash
# System packages the project needs on Debian 12: Python venv support, Debian's Chromium (browser
# tests), the PostgreSQL server (the test suite starts a throwaway cluster), rclone (staging
# benchmark baseline). Installs only what is missing, so a second run costs a few checks.
# Not root and something missing: warn and carry on (the tests that need it will say so).
set -euo pipefail

missing=()
have_pg() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }

command -v python3 >/dev/null || missing+=(python3)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
command -v chromium >/dev/null || missing+=(chromium)
have_pg || missing+=(postgresql)
command -v rclone >/dev/null || missing+=(rclone)
command -v git >/dev/null || missing+=(git)

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-system: chromium, postgresql, rclone and python3-venv present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: WARNING: missing ${missing[*]}; run 'sudo $0' (continuing without)" >&2
    exit 0
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
