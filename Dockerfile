# aml-compute-operator image. Multi-stage: compile with the dev dependencies, ship only the
# production ones. The base is a build argument so offline machines can pass a locally built
# Node 24 image (hack/build-image.sh does); the default is the official one — pin it by digest
# in release builds (node:24-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at build time (ssh2's only builds an
# optional native speed-up and falls back to pure JS).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
# Run-time files tsc does not emit (the Python runner, the RemoteVM shell scripts) ship next to
# their compiled modules: npm run build = tsc + scripts/copy-assets.mjs.
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && rm -rf /root/.npm

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Bayesian sweeps: the operator starts src/sweep/suggestion/suggest.py as a child process with this
# venv's Python, which has Optuna (pinned in requirements.txt) from PyPI. Installed at build time so
# a cluster without PyPI access runs Bayesian sweeps too. pip is pointed at the system CA bundle,
# which may hold a local egress CA the build machine needs.
COPY src/sweep/suggestion/requirements.txt /opt/suggestion/requirements.txt
RUN set -eu; \
    if ! python3 -c "import ensurepip" 2>/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates && rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -m venv /opt/suggestion; \
    /opt/suggestion/bin/pip install --no-cache-dir --disable-pip-version-check --cert /etc/ssl/certs/ca-certificates.crt \
      -r /opt/suggestion/requirements.txt; \
    /opt/suggestion/bin/python -c "import optuna"
ENV SUGGESTION_PYTHON=/opt/suggestion/bin/python
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# Non-root (the chart's runAsUser); nothing is written outside /tmp, so the root filesystem can be
# read-only. node is PID 1 and the operator handles SIGTERM itself (graceful stop, Lease release).
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/src/main.js"]
