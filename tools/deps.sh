#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet.
# Needs root (or passwordless sudo) only when something is missing; says what and why otherwise.
set -euo pipefail
missing=()
for p in "$@"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] && continue
  # A tool that is already on PATH under the package's name counts as present:
  # e.g. npm bundled with a nodejs from elsewhere, where Debian's npm would conflict.
  command -v "$p" >/dev/null 2>&1 && continue
  missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo -n"; else
  echo "deps: missing packages and not root: run as root: apt-get install ${missing[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine: refresh once, then install.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts some daemons on install (nginx, redis); the labs start their own on loopback ports.
for svc in nginx redis-server; do
  if printf '%s\n' "${missing[@]}" | grep -q "^$svc"; then
    pkill -x "$svc" 2>/dev/null || true
  fi
done
echo "deps: done"
