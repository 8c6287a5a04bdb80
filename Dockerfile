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
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# Non-root (the chart's runAsUser); nothing is written outside /tmp, so the root filesystem can be
# read-only. node is PID 1 and the operator handles SIGTERM itself (graceful stop, Lease release).
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/src/main.js"]
