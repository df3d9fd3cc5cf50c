# syntax=docker/dockerfile:1
#
# The apexalias controller image:  docker build -t apexalias .
#
# There is no compile step: Node 24 runs the TypeScript sources directly (type stripping). The
# first stage only installs the production dependencies; `--omit=dev` also leaves out the `node`
# devDependency (the Node 24 binary the repository's npm scripts use), so `node` in the image is
# always the base image's own Node 24. No production dependency has an install script.

FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Owned by root and read-only for the controller's user: the code cannot be changed at run time.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY crds ./crds
# 65532 is the conventional "nonroot" uid (distroless); the chart runs it with a read-only root
# filesystem and needs nothing writable but its zone-file volume.
USER 65532:65532
# 8080 /metrics, 8081 /healthz and /readyz.
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/bin/apexalias.js", "controller"]
