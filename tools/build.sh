#!/usr/bin/env bash
# Builds the Go test tools (kube-apiserver, etcd, helm, helm-docs; external-dns for the peer benchmark) from the Go module
# proxy into a cache folder outside git, and only when a binary is missing or its pinned version
# changed. Never runs two Go builds at once: a cold kube-apiserver link needs ~3 GB of RAM.
#
#   tools/build.sh [kube-apiserver|etcd|helm|helm-docs|all]      (default: all)
#   APEXALIAS_TOOLS_BIN  where binaries go (default: ~/.cache/apexalias/bin)
set -euo pipefail
cd "$(dirname "$0")"
BIN="${APEXALIAS_TOOLS_BIN:-$HOME/.cache/apexalias/bin}"
mkdir -p "$BIN"
K8S=v1.37.2
ETCD=v3.6.16
log() { echo "tools/build: $*" >&2; }

need() { # need <binary> <version>: true when missing or built for another version
  [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$2" ] && return 1
  return 0
}

build_kube_apiserver() {
  need kube-apiserver "$K8S" || { log "kube-apiserver $K8S cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build kube-apiserver (install Go 1.26+)"; exit 1; }
  log "building kube-apiserver $K8S (cold: 7-14 min, ~3 GB RAM)"
  local ldv="-X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1"
  ldv="$ldv -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
  ldv="$ldv -X k8s.io/client-go/pkg/version.gitVersion=$K8S -X k8s.io/client-go/pkg/version.gitMajor=1"
  ldv="$ldv -X k8s.io/client-go/pkg/version.gitMinor=37"
  go build -trimpath -ldflags="-s -w $ldv" -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  echo "$K8S" > "$BIN/kube-apiserver.version"
}

# kubectl only when the machine has none: built from the same module as kube-apiserver.
build_kubectl() {
  command -v kubectl >/dev/null && { log "kubectl found on PATH"; return; }
  need kubectl "$K8S" || { log "kubectl $K8S cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build kubectl (install Go 1.26+)"; exit 1; }
  log "building kubectl $K8S (cold: a few minutes)"
  go build -trimpath -ldflags="-s -w" -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl
  echo "$K8S" > "$BIN/kubectl.version"
}

build_etcd() {
  need etcd "$ETCD" || { log "etcd $ETCD cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build etcd (install Go 1.26+)"; exit 1; }
  log "building etcd $ETCD (cold: about a minute)"
  (cd etcd && go build -trimpath -ldflags="-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
  echo "$ETCD" > "$BIN/etcd.version"
}

HELM=v3.22.0
build_helm() {
  need helm "$HELM" || { log "helm $HELM cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build helm (install Go 1.26+)"; exit 1; }
  log "building helm $HELM (cold: about 6 min)"
  GOBIN="$BIN" go install "helm.sh/helm/v3/cmd/helm@$HELM"
  echo "$HELM" > "$BIN/helm.version"
}

HELM_DOCS=v1.14.2
# Generates charts/apexalias/README.md from values.yaml; `npm run check` fails when it is stale.
build_helm_docs() {
  need helm-docs "$HELM_DOCS" || { log "helm-docs $HELM_DOCS cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build helm-docs (install Go 1.26+)"; exit 1; }
  log "building helm-docs $HELM_DOCS (cold: about a minute)"
  GOBIN="$BIN" go install "github.com/norwoodj/helm-docs/cmd/helm-docs@$HELM_DOCS"
  echo "$HELM_DOCS" > "$BIN/helm-docs.version"
}

EXTERNAL_DNS=v0.21.0
# The benchmark peer only (npm run bench:peer); not needed by the tests.
build_external_dns() {
  need external-dns "$EXTERNAL_DNS" || { log "external-dns $EXTERNAL_DNS cached in $BIN"; return; }
  command -v go >/dev/null || { log "Go is required to build external-dns (install Go 1.26+)"; exit 1; }
  log "building external-dns $EXTERNAL_DNS (cold: about 9 min, 2.6 GB RAM)"
  GOBIN="$BIN" go install "sigs.k8s.io/external-dns@$EXTERNAL_DNS"
  echo "$EXTERNAL_DNS" > "$BIN/external-dns.version"
}

case "${1:-all}" in
  external-dns) build_external_dns ;;
  kube-apiserver) build_kube_apiserver ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  helm-docs) build_helm_docs ;;
  kubectl) build_kubectl ;;
  all) build_etcd; build_kube_apiserver; build_kubectl; build_helm; build_helm_docs ;;
  *) echo "usage: $0 [kube-apiserver|etcd|kubectl|helm|helm-docs|external-dns|all]" >&2; exit 2 ;;
esac
