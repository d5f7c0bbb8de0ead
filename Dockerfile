# One image for the three processes: each Deployment picks its own with `command: [node, <process>/main.ts]`
# (connector, webhook, extender; the connector's adds --optimize-for-size, see docs/scaling.md). Node 24 runs the TypeScript sources directly (type stripping), so
# there is no build step: the image holds the sources and the production dependencies, nothing else.
#
# Base: node:24-alpine (the release package.json pins for development). It puts `node` on PATH, which
# the manifests' `command` relies on, and keeps a shell and busybox for `kubectl exec` when debugging
# an install. gcr.io/distroless/nodejs24 would be smaller still, but its node lives outside PATH
# (/nodejs/bin/node) and it has no shell at all; the manifests already run with a read-only root
# filesystem, no capabilities and no privilege escalation, which closes most of that gap.
ARG NODE_IMAGE=node:24.21.0-alpine

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the `node` devDependency (a Node binary for development machines),
# TypeScript and the linters stay out. No install scripts: no runtime dependency needs one.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="aci-burst" \
  org.opencontainers.image.description="Burst Kubernetes pods into Azure Container Instances: connector, webhook, extender" \
  org.opencontainers.image.source="https://github.com/aci-burst/aci-burst" \
  org.opencontainers.image.version="0.1.0" \
  org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY contract ./contract
COPY runtime ./runtime
COPY connector ./connector
COPY webhook ./webhook
COPY extender ./extender
# Owned by root and read-only to the process; it runs as an unprivileged numeric user, so Kubernetes'
# runAsNonRoot can verify it (the manifests set the same uid).
USER 65532:65532
EXPOSE 8443 10250 10255
ENTRYPOINT []
CMD ["node", "--optimize-for-size", "connector/main.ts"]
