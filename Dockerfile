# lugh: one image for both environments; APP_ENV and the rest come from the environment.
#
# Build here (no registry): deploy/make-base-image.sh && \
#   docker build --build-arg BASE_IMAGE=lugh-base:node20 \
#     --build-arg GIT_SHA=$(git rev-parse HEAD) --build-arg BUILD_TIME=$(date -u +%FT%TZ) \
#     -t lugh:staging-$(git rev-parse --short HEAD) .
# Elsewhere the default base, node:20-bookworm-slim, works as is.
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: install everything, type-check, bundle, then drop dev dependencies --------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
# The host's CA bundle (part of lugh-base) is what lets npm reach the registry from here;
# on an image without that file Node only warns and uses its own CA store.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script here. The ones that have one
# (ssh2, cpu-features, msgpackr-extract, esbuild, protobufjs) either build optional native
# addons, which need a compiler this image does not have, or only verify a prebuilt binary.
# Skipping them makes the build the same with and without npm 11's script allowlist.
RUN npm ci --ignore-scripts

COPY . .
# tsc -p tsconfig.build.json type-checks src/ (a type error fails the build), then
# deploy/bundle.ts bundles lugh with its dependencies into dist/ (cli.js and its chunks):
# node loads a few dozen files at start instead of ~1,100.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts

# ---- runtime: the bundle, production dependencies, migrations; nothing else ---------------
FROM ${BASE_IMAGE} AS runtime
# --max-semi-space-size: V8's young generation grows to 2 × 16 MiB while start-up loads
# lugh's code and keeps that size, empty, when idle (~125 MiB idle RSS without a cap,
# ~110 MiB with 8, ~101 MiB with 4; scavenges in a start: ~13 uncapped, ~15 with 8, ~22 with 4).
# A cap, not a size: V8 starts at 1 MiB and grows up to it under load.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app

# pg_dump, for the production backup before a deploy, and pg_restore, for /restore:
# lugh-base carries the host's; on a Debian base they come from postgresql-client. A build
# without pg_dump fails here, not at a deploy. A lugh-base made before pg_restore was added
# lacks it: the build says so and /restore refuses before touching the database.
RUN if ! command -v pg_dump >/dev/null && command -v apt-get >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends postgresql-client \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && pg_dump --version \
 && { pg_restore --version || echo 'warning: no pg_restore in this image; rebuild lugh-base (deploy/make-base-image.sh --force)'; }

# A fixed, unprivileged uid. Written by hand because the busybox in lugh-base has no adduser.
RUN echo 'lugh:x:10001:10001:lugh:/home/lugh:/bin/sh' >> /etc/passwd \
 && echo 'lugh:x:10001:' >> /etc/group \
 && mkdir -p /home/lugh \
 && chown 10001:10001 /home/lugh

# Owned by root, so the running app cannot rewrite its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations

# Which commit this is, after every file: two commits with the same files share every layer
# (a commit changing only what .dockerignore leaves out adds no layer, only this metadata).
ARG GIT_SHA=unknown
ARG BUILD_TIME=unknown
ENV GIT_SHA=${GIT_SHA} \
    BUILD_TIME=${BUILD_TIME}

USER 10001:10001
STOPSIGNAL SIGTERM
# What a deploy runs, in a one-off container of the new image, before switching to it.
LABEL lugh.migrate='["node","dist/cli.js","migrate"]'

# `lugh healthcheck` GETs http://127.0.0.1:$PORT/healthz: exit 0 on 200, 1 otherwise.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/cli.js", "healthcheck"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
