#!/usr/bin/env bash
# Installs the real servers the integration tests start (BIND, Knot, PowerDNS, Unbound, Prometheus) and the
# container tools the image test builds and runs the image with (podman with runc, mmdebstrap for
# its local base image) from Debian packages, and moto's server (the Route 53 stand-in, PyPI
# moto[server]) into a Python venv outside git (APEXALIAS_MOTO_VENV, default
# ~/.cache/apexalias/venv). Idempotent and fast: when everything is already present it only checks.
#
#   scripts/install-test-deps.sh            install what is missing
#   scripts/install-test-deps.sh --check    only report; exit 1 when something is missing
#   scripts/install-test-deps.sh --dry-run  print the commands instead of running them
#
# The packages' services must not keep running: a policy-rc.d that forbids starting services is
# put in place for the install (unless one exists), and any unit systemd started anyway is stopped.
set -euo pipefail

BINARIES=(named named-checkzone nsupdate dig delv tsig-keygen dnssec-signzone dnssec-keygen knotd knotc kdig kzonecheck
  pdns_server sqlite3 unbound unbound-checkconf prometheus promtool podman runc mmdebstrap newuidmap)
PACKAGES=(bind9 bind9-utils bind9-dnsutils knot knot-dnsutils knot-dnssecutils pdns-server pdns-backend-sqlite3 sqlite3 unbound
  prometheus podman runc mmdebstrap uidmap)
SERVICES=(named bind9 knot pdns unbound prometheus podman)

mode=install
case "${1:-}" in
  --check) mode=check ;;
  --dry-run) mode=dry-run ;;
  '') ;;
  *) echo "usage: $0 [--check|--dry-run]" >&2; exit 2 ;;
esac

log() { echo "install-test-deps: $*"; }

# named, knotd, pdns_server, unbound and tsig-keygen live in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# moto[server] for the Route 53 backend's tests, pinned: test/integration/route53-moto-departures.test.ts
# pins down how this version departs from Route 53.
MOTO_VERSION=5.2.5
MOTO_VENV="${APEXALIAS_MOTO_VENV:-$HOME/.cache/apexalias/venv}"
moto_present() {
  [ -x "$MOTO_VENV/bin/moto_server" ] &&
    "$MOTO_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null
}
if moto_present; then
  log "moto $MOTO_VERSION present in $MOTO_VENV"
elif [ "$mode" = check ]; then
  log "missing: moto[server]==$MOTO_VERSION in $MOTO_VENV"
  moto_missing=1
else
  python=$(command -v python3 || true)
  if { [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; } && [ "$mode" = install ] &&
    command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    log "+ apt-get install -y --no-install-recommends python3 python3-venv (for moto's venv)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
    python=$(command -v python3 || true)
  fi
  if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "install-test-deps: python3 with the venv module is needed for moto; install Debian's python3 and python3-venv" >&2
    exit 1
  fi
  log "+ $python -m venv $MOTO_VENV && pip install moto[server]==$MOTO_VERSION"
  if [ "$mode" != dry-run ]; then
    mkdir -p "$(dirname "$MOTO_VENV")"
    "$python" -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    moto_present || { echo "install-test-deps: moto did not install into $MOTO_VENV" >&2; exit 1; }
  fi
fi

missing=()
for bin in "${BINARIES[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "all test servers present (${BINARIES[*]})"
  exit "${moto_missing:-0}"
fi
log "missing: ${missing[*]}"
if [ "$mode" = check ]; then
  log "run $0 (or npm test) to install: ${PACKAGES[*]}"
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "install-test-deps: cannot install ${PACKAGES[*]}: not root and passwordless sudo is not available." >&2
  echo "install-test-deps: run as root: apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: apt-get not found; these tests expect Debian/Ubuntu. Install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

run() {
  log "+ ${SUDO[*]:+${SUDO[*]} }$*"
  if [ "$mode" != dry-run ]; then "${SUDO[@]}" "$@"; fi
}

policy=/usr/sbin/policy-rc.d
created_policy=0
remove_policy() {
  if [ "$created_policy" -eq 1 ]; then run rm -f "$policy"; fi
}
trap remove_policy EXIT
if [ ! -e "$policy" ]; then
  log "forbidding service starts during the install ($policy exits 101)"
  if [ "$mode" != dry-run ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
  fi
  created_policy=1
fi

run env DEBIAN_FRONTEND=noninteractive apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

# On a machine booted with systemd the units may still have been started (or be enabled for the
# next boot's sake only); tests start their own instances on loopback, so stop the packaged ones.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for svc in "${SERVICES[@]}"; do
    if systemctl is-active --quiet "$svc" 2>/dev/null; then run systemctl stop "$svc"; fi
  done
fi

if [ "$mode" = dry-run ]; then exit 0; fi
still=()
for bin in "${BINARIES[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || still+=("$bin")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "install-test-deps: still missing after the install: ${still[*]}" >&2
  exit 1
fi
log "installed ${PACKAGES[*]}"
