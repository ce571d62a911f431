#!/usr/bin/env bash
# Bootstrap a new Debian server for lugh: both environments on one host.
#
# Run as root from a checkout of the repository (the branch you want to start with):
#   deploy/bootstrap.sh
#
# What it does, in order (each step says what it is doing; it stops at the first failure):
#   1. installs docker.io and docker-compose (Debian packages) and starts the engine;
#   2. checks .env.infra.local, .env.staging.local and .env.prod.local exist and hold no
#      placeholder (__SET_IN_…__) for the values lugh cannot run without;
#   3. creates the LUGH_HOME directories (owned by uid 10001, the image's user) and records
#      the docker group id in each app's .local file;
#   4. builds the image (lugh:<env>-<sha>) for the checked-out commit;
#   5. starts the infra project (Postgres + Redis), waits for Postgres;
#   6. runs migrations for each environment (`run --rm <service> migrate`);
#   7. starts staging, then production.
# Running it again is safe: existing directories, images and containers are reused.
#
# It does not: set up a reverse proxy or TLS for webhooks, firewall the host, or schedule
# backups. Without an image registry, run deploy/make-base-image.sh first and set
# BASE_IMAGE=lugh-base:node20.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
APP_UID=10001

step() { printf '\n==> %s\n' "$*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root"

# compose <env> <args…>: always with the env's project name, env file and compose file, and
# with the env's .local secrets in the environment (in a subshell, so nothing leaks
# from one environment into the next).
compose() {
  local env="$1"
  shift
  local project
  project="$(sed -n 's/^COMPOSE_PROJECT_NAME=//p' ".env.$env")"
  [[ -n $project ]] || die ".env.$env has no COMPOSE_PROJECT_NAME"
  (
    set -a
    # shellcheck disable=SC1090
    . "./.env.$env"
    # shellcheck disable=SC1090
    . "./.env.$env.local"
    set +a
    [[ -n ${LUGH_IMAGE_OVERRIDE:-} ]] && export LUGH_IMAGE="$LUGH_IMAGE_OVERRIDE"
    docker-compose -p "$project" --env-file ".env.$env" -f "docker-compose.$env.yml" "$@"
  )
}

# value_of <file> <KEY>: the last KEY=value in the file (the .local file is read after the
# committed one, so it wins).
value_of() {
  sed -n "s/^$2=//p" "$1" | tail -n 1
}
effective() {
  local env="$1" key="$2" value
  value="$(value_of ".env.$env.local" "$key")"
  [[ -n $value ]] || value="$(value_of ".env.$env" "$key")"
  printf '%s' "$value"
}

# --- 1. Docker ---------------------------------------------------------------------------
step "Docker engine and docker-compose"
if ! command -v docker >/dev/null || ! command -v docker-compose >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io docker-compose
fi
if ! docker info >/dev/null 2>&1; then
  systemctl enable --now docker 2>/dev/null || service docker start
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "the Docker engine did not start"
fi

# --- 2. secrets ------------------------------------------------------------------------
step "checking .env.*.local files"
for env in infra staging prod; do
  [[ -f .env.$env.local ]] || die ".env.$env.local is missing: copy the placeholders from .env.$env and fill them in"
done
for key in POSTGRES_PASSWORD STAGING_DB_PASSWORD PROD_DB_PASSWORD; do
  value="$(effective infra "$key")"
  [[ -n $value && $value != __*__ ]] || die "$key is not set in .env.infra.local"
done
for env in staging prod; do
  for key in TELEGRAM_BOT_TOKEN ADMIN_IDS DATABASE_URL; do
    value="$(effective "$env" "$key")"
    [[ -n $value && $value != *__SET_IN_* ]] || die "$key in .env.$env.local is missing or still a placeholder"
  done
done
[[ $(effective staging TELEGRAM_BOT_TOKEN) != "$(effective prod TELEGRAM_BOT_TOKEN)" ]] ||
  die "staging and production use the same TELEGRAM_BOT_TOKEN (two pollers on one token fail)"

# --- 3. directories and docker group ------------------------------------------------------
step "LUGH_HOME directories and docker group id"
docker_gid="$(stat -c %g /var/run/docker.sock)"
for env in staging prod; do
  home="$(effective "$env" LUGH_HOME)"
  [[ -n $home ]] || die "LUGH_HOME is not set for $env"
  mkdir -p "$home"
  chown "$APP_UID:$APP_UID" "$home"
  chmod 750 "$home"
  echo "  $env: $home"
  if grep -q '^DOCKER_GID=' ".env.$env.local"; then
    sed -i "s/^DOCKER_GID=.*/DOCKER_GID=$docker_gid/" ".env.$env.local"
  else
    echo "DOCKER_GID=$docker_gid" >>".env.$env.local"
  fi
done

# --- 4. image ----------------------------------------------------------------------------
sha="$(git rev-parse --short=12 HEAD)"
step "building lugh:staging-$sha and lugh:prod-$sha from $BASE_IMAGE"
docker build \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --build-arg "GIT_SHA=$(git rev-parse HEAD)" \
  --build-arg "BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "lugh:staging-$sha" -t "lugh:prod-$sha" .

# --- 5. infra ----------------------------------------------------------------------------
step "starting infra (Postgres, Redis)"
compose infra up -d
for _ in $(seq 1 60); do
  docker exec lugh-postgres pg_isready -U postgres -q 2>/dev/null && break
  sleep 2
done
docker exec lugh-postgres pg_isready -U postgres -q || die "Postgres did not become ready"
# The init script ran only if the data directory was new; run it again to be sure the
# roles, databases and passwords match the .local files (it is idempotent).
(
  set -a
  . ./.env.infra
  . ./.env.infra.local
  set +a
  docker exec -i -e STAGING_DB_PASSWORD -e PROD_DB_PASSWORD -u postgres lugh-postgres \
    bash -s <deploy/init-databases.sh
)

# --- 6. migrations -------------------------------------------------------------------------
for env in staging prod; do
  step "migrating $env"
  LUGH_IMAGE_OVERRIDE="lugh:$env-$sha" compose "$env" run --rm --no-deps "$env-app" migrate
done

# --- 7. apps ----------------------------------------------------------------------------
for env in staging prod; do
  step "starting $env (lugh:$env-$sha)"
  LUGH_IMAGE_OVERRIDE="lugh:$env-$sha" compose "$env" up -d
done

step "done"
docker ps --filter "name=lugh-" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
echo "Health: curl -fsS http://127.0.0.1:3001/healthz (staging), http://127.0.0.1:3000/healthz (production)"
echo "Isolation audit: docker run --rm --network lugh-staging-data -v /var/run/docker.sock:/var/run/docker.sock --group-add \"\$(stat -c %g /var/run/docker.sock)\" lugh:prod-$sha doctor"
