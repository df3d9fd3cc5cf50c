#!/usr/bin/env bash
# Installs the real servers the integration tests start (BIND, Knot, PowerDNS, Unbound, Prometheus) from
# Debian packages. Idempotent and fast: when every binary is already present it only checks.
#
#   scripts/install-test-deps.sh            install what is missing
#   scripts/install-test-deps.sh --check    only report; exit 1 when something is missing
#   scripts/install-test-deps.sh --dry-run  print the commands instead of running them
#
# The packages' services must not keep running: a policy-rc.d that forbids starting services is
# put in place for the install (unless one exists), and any unit systemd started anyway is stopped.
set -euo pipefail

BINARIES=(named named-checkzone nsupdate dig delv tsig-keygen dnssec-signzone dnssec-keygen knotd knotc kdig kzonecheck pdns_server sqlite3 unbound unbound-checkconf prometheus promtool)
PACKAGES=(bind9 bind9-utils bind9-dnsutils knot knot-dnsutils knot-dnssecutils pdns-server pdns-backend-sqlite3 sqlite3 unbound prometheus)
SERVICES=(named bind9 knot pdns unbound prometheus)

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

missing=()
for bin in "${BINARIES[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "all test servers present (${BINARIES[*]})"
  exit 0
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
