# syntax=docker/dockerfile:1
#
# The apexalias controller image:  docker build -t apexalias .
#
#   --build-arg BASE=...       any Debian-based image with Node 24 and npm on PATH (default node:24-slim;
#                              the tests build a local equivalent, see test/harness/image.ts)
#   --build-arg VERSION=...    org.opencontainers.image.version (keep it equal to package.json's)
#   --build-arg REVISION=...   org.opencontainers.image.revision (the git commit)
#
# There is no compile step: Node 24 runs the TypeScript sources directly (type stripping). The
# image that runs is built FROM scratch, distroless-style: the base image's node binary and the
# shared libraries it links, the app with its production dependencies, a CA bundle and a passwd
# entry for uid 65532. No shell, no npm, no package manager.

ARG BASE=node:24-slim

# Production dependencies only. `--omit=dev` also leaves out the `node` devDependency (the Node 24
# binary the repository's npm scripts use), so the image's node is always the base image's own.
# No production dependency has an install script. An npmrc build secret (registry, token, CA) is
# used when one is given: --secret id=npmrc,src=$HOME/.npmrc
FROM ${BASE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force \
    # Source maps and type declarations are never read at run time (a third of node_modules).
    && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
# `apexalias --version` names this commit (there is no .git in the image): see src/cli/version.ts.
ARG REVISION=unknown
RUN node -e "const c=process.argv[1]; require('fs').writeFileSync('build-info.json', /^[0-9a-f]{40}$/.test(c) ? JSON.stringify({commit:c})+'\\n' : '{}\\n')" "$REVISION"

# The runtime's root filesystem, gathered from the base image. The library list comes from ldd,
# so it is right for whichever architecture the base image is built for.
FROM ${BASE} AS rootfs
RUN set -eu; \
    node="$(command -v node)"; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/home/nonroot /rootfs/tmp; \
    cp "$node" /rootfs/usr/local/bin/node; \
    for lib in $(ldd "$node" | sed -n -e 's/^.*=> \(\/[^ ]*\) .*$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*$/\1/p'); do \
      mkdir -p "/rootfs$(dirname "$lib")"; \
      cp -L "$lib" "/rootfs$lib"; \
    done; \
    # Node's own root certificates (Mozilla's list, what it trusts by default) as the system bundle.
    node -e "require('fs').writeFileSync('/rootfs/etc/ssl/certs/ca-certificates.crt', require('tls').rootCertificates.join('\n') + '\n')"; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    chown 65532:65532 /rootfs/home/nonroot; \
    chmod 1777 /rootfs/tmp; \
    chroot /rootfs /usr/local/bin/node --version

FROM scratch
COPY --from=rootfs /rootfs/ /
WORKDIR /app
ENV NODE_ENV=production \
    PATH=/usr/local/bin \
    HOME=/home/nonroot
# Owned by root and read-only for the controller's user: the code cannot be changed at run time.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/build-info.json ./
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY crds ./crds
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="apexalias" \
      org.opencontainers.image.description="ALIAS/ANAME records at the zone apex for any DNS server, driven from Kubernetes" \
      org.opencontainers.image.source="https://github.com/apexalias/apexalias" \
      org.opencontainers.image.url="https://github.com/apexalias/apexalias" \
      org.opencontainers.image.documentation="https://github.com/apexalias/apexalias/tree/main/docs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# 65532 is the conventional "nonroot" uid (distroless); the chart runs it with a read-only root
# filesystem and needs nothing writable but its zone-file volume.
USER 65532:65532
# 8080 /metrics, 8081 /healthz and /readyz.
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/apexalias.js", "controller"]
