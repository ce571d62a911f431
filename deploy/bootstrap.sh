#!/usr/bin/env bash
# Bootstrap a new Debian server for lugh: both environments on one host.
#
# Run as root from a checkout of the repository (the branch you want to start with):
#   deploy/bootstrap.sh
#
# What it does, in order (each step says what it is doing; it stops at the first failure):
#   1. installs docker.io, docker-compose and jq (Debian packages), starts the engine and
#      turns on its live-restore (see below);
#   2. checks .env.infra.local, .env.staging.local and .env.prod.local exist and hold no
#      placeholder (__SET_IN_…__) for the values lugh cannot run without;
#   3. creates the LUGH_HOME directories (owned by uid 10001, the image's user) and records
#      the engine's socket and its group id in each app's .local file;
#   4. builds the image (lugh:sha-<sha>, tagged lugh:<env>-<sha>) for the checked-out
#      commit, unless the engine already has lugh:sha-<sha> (the deployer's tag for it);
#   5. starts the infra project (Postgres + Redis), waits for Postgres;
#   6. runs migrations for each environment (`run --rm <service> migrate`);
#   7. starts staging, then production.
# Steps 6 and 7 skip an environment lugh has already deployed itself (see there): its
# deployer owns it, and bootstrap then only makes sure its app container runs.
# Running it again is safe and changes nothing: existing directories, images and
# containers are reused (compose leaves a container whose configuration is unchanged).
#
# The engine is the one DOCKER_HOST names (unix:// only), else /var/run/docker.sock; the
# apps get that socket mounted as their /var/run/docker.sock.
#
# live-restore: without it, a dockerd that dies and starts again (a crash, an upgrade of
# the package) stops every container it finds still running and restarts none of them,
# whatever their restart policy: Postgres, Redis, both apps and a deploy in progress stay
# down. Bootstrap merges "live-restore": true into the engine's daemon.json (other keys
# kept; DOCKER_DAEMON_JSON, default /etc/docker/daemon.json) and reloads the engine with
# SIGHUP (live-restore is reloadable: no container restarts), sending it to the pid in
# DOCKERD_PIDFILE (default /var/run/docker.pid). A second run finds it on and changes
# nothing. The containers then live through a dockerd restart; a deploy runner whose
# Docker calls fail meanwhile exits and is started again by its restart policy, and
# resumes. Their mounted socket keeps working only if the socket outlives dockerd
# (Debian's docker.socket, systemd socket activation, does); a dockerd that makes its own
# socket makes a new one, and a container started before sees the old one until it is
# started again.
#
# It does not: set up a reverse proxy or TLS for webhooks, firewall the host, or schedule
# backups. Without an image registry, run deploy/make-base-image.sh first and set
# BASE_IMAGE=lugh-base:node20.
#
# deploy/bootstrap.sh --swarm [--init] [--dry-run] …: both environments as Docker Swarm
# stacks instead; see deploy/bootstrap-swarm.sh, which it runs.
set -euo pipefail

if [[ ${1:-} == --swarm ]]; then
  shift
  exec "$(dirname "${BASH_SOURCE[0]}")/bootstrap-swarm.sh" "$@"
fi

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
# set_local <env> <KEY> <value>: KEY=value in .env.<env>.local, replaced or appended
# (the file is left untouched when it already says so).
set_local() {
  local file=".env.$1.local"
  if [[ $(value_of "$file" "$2") == "$3" ]] && [[ $(grep -c "^$2=" "$file") == 1 ]]; then return; fi
  if grep -q "^$2=" "$file"; then
    sed -i "s|^$2=.*|$2=$3|" "$file"
  else
    echo "$2=$3" >>"$file"
  fi
}
effective() {
  local env="$1" key="$2" value
  value="$(value_of ".env.$env.local" "$key")"
  [[ -n $value ]] || value="$(value_of ".env.$env" "$key")"
  printf '%s' "$value"
}

# --- 1. Docker ---------------------------------------------------------------------------
step "Docker engine and docker-compose"
case "${DOCKER_HOST:-}" in
  "") docker_socket=/var/run/docker.sock ;;
  unix://*) docker_socket="${DOCKER_HOST#unix://}" ;;
  *) die "DOCKER_HOST=$DOCKER_HOST: only a local engine (unix://<socket>) can run lugh's containers" ;;
esac
if ! command -v docker >/dev/null || ! command -v docker-compose >/dev/null || ! command -v jq >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io docker-compose jq
fi
if ! docker info >/dev/null 2>&1; then
  [[ -z ${DOCKER_HOST:-} ]] || die "no Docker engine answers at $DOCKER_HOST"
  systemctl enable --now docker 2>/dev/null || service docker start
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "the Docker engine did not start"
fi

step "Docker live-restore (containers live through a dockerd restart)"
daemon_json="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"
dockerd_pidfile="${DOCKERD_PIDFILE:-/var/run/docker.pid}"
live_restore() { docker info --format '{{.LiveRestoreEnabled}}'; }
if [[ $(live_restore) == true ]]; then
  echo "  live-restore is on"
else
  current='{}'
  if [[ -s $daemon_json ]]; then
    current="$(cat "$daemon_json")"
    jq -e 'type == "object"' <<<"$current" >/dev/null || die "$daemon_json is not a JSON object"
  fi
  if [[ $(jq '."live-restore"' <<<"$current") != true ]]; then
    mkdir -p "$(dirname "$daemon_json")"
    # Through a file beside it and a rename: the engine never reads half a file.
    jq '. + {"live-restore": true}' <<<"$current" >"$daemon_json.lugh-tmp"
    mv "$daemon_json.lugh-tmp" "$daemon_json"
    echo "  wrote \"live-restore\": true to $daemon_json (other settings kept)"
  fi
  dockerd_pid="$(cat "$dockerd_pidfile" 2>/dev/null || true)"
  # A pid file left by an engine that is gone may name another process now.
  [[ -n $dockerd_pid && $(cat "/proc/$dockerd_pid/comm" 2>/dev/null) == dockerd ]] ||
    die "no running dockerd's pid in $dockerd_pidfile (set DOCKERD_PIDFILE): reload the engine by hand (kill -HUP <dockerd pid>)"
  # SIGHUP: dockerd reads daemon.json again; live-restore is one of the settings it
  # applies without a restart, so no container stops.
  kill -HUP "$dockerd_pid"
  for _ in $(seq 1 20); do [[ $(live_restore) == true ]] && break; sleep 0.5; done
  [[ $(live_restore) == true ]] || die "the engine did not turn live-restore on after a reload (SIGHUP): see its log"
  echo "  reloaded the engine (SIGHUP, no container restarted): live-restore is on"
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
step "LUGH_HOME directories, docker socket and group id"
docker_gid="$(stat -c %g "$docker_socket")"
for env in staging prod; do
  home="$(effective "$env" LUGH_HOME)"
  [[ -n $home ]] || die "LUGH_HOME is not set for $env"
  mkdir -p "$home"
  chown "$APP_UID:$APP_UID" "$home"
  chmod 750 "$home"
  echo "  $env: $home"
  set_local "$env" DOCKER_SOCKET "$docker_socket"
  set_local "$env" DOCKER_GID "$docker_gid"
done
# REFRESH_DIR: /refresh staging's only channel, one host directory both apps mount at the
# same path (the image's user, uid 10001, in both: 0700 is enough).
refresh_dir="$(effective prod REFRESH_DIR)"
[[ $refresh_dir == "$(effective staging REFRESH_DIR)" ]] ||
  die "REFRESH_DIR differs between .env.staging and .env.prod: both must name the one shared directory"
if [[ -n $refresh_dir ]]; then
  mkdir -p "$refresh_dir"
  chown "$APP_UID:$APP_UID" "$refresh_dir"
  chmod 700 "$refresh_dir"
  echo "  REFRESH_DIR (both): $refresh_dir"
fi

# --- 4. image ----------------------------------------------------------------------------
sha="$(git rev-parse --short=12 HEAD)"
# lugh:sha-<sha> is the tag the deployer's image builder gives a commit's image: an image
# it (or an earlier run of this script) built is reused, never built again.
if docker image inspect "lugh:sha-$sha" >/dev/null 2>&1; then
  step "lugh:sha-$sha exists: tagging it lugh:staging-$sha and lugh:prod-$sha"
else
  step "building lugh:sha-$sha from $BASE_IMAGE"
  docker build \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "GIT_SHA=$(git rev-parse HEAD)" \
    --build-arg "BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --label "lugh.sha=$(git rev-parse HEAD)" \
    -t "lugh:sha-$sha" .
fi
docker tag "lugh:sha-$sha" "lugh:staging-$sha"
docker tag "lugh:sha-$sha" "lugh:prod-$sha"

# --- 5. infra ----------------------------------------------------------------------------
step "starting infra (Postgres, Redis)"
compose infra up -d
# Over TCP: on a new data directory the image's entrypoint first runs a temporary server
# for the init scripts that listens on the socket only, and stops it; the socket would
# answer "ready" in that window and the init below would meet "shutting down".
for _ in $(seq 1 60); do
  docker exec lugh-postgres pg_isready -h 127.0.0.1 -U postgres -q 2>/dev/null && break
  sleep 2
done
docker exec lugh-postgres pg_isready -h 127.0.0.1 -U postgres -q || die "Postgres did not become ready"
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

# --- 6. and 7. migrations and apps ---------------------------------------------------------
# An environment its deployer has switched (a <app>-previous container exists, or the app
# runs another image than this checkout's) or is switching (a deploy runner container is
# there) belongs to the deployer from then on: compose
# must not touch it. Its containers keep compose's labels, so `up` would see two
# containers of one service (the app and <app>-previous) and a configuration that is no
# longer its own: docker-compose 1.29 then removes one of the two (the running app, seen
# here) and recreates the other from this checkout's image, unchecked. Bootstrap only makes
# sure the app runs again (as the deployer's own convergence would: the app, else the
# previous container put back under its name) and leaves migrations to the deployer.
deployed_by_lugh() {
  local app="lugh-$1-app" image
  docker container inspect "$app-previous" >/dev/null 2>&1 && return 0
  # A deploy runner left by a deploy in progress (a reboot in the middle): it converges.
  [[ -n $(docker ps -aq --filter "name=^/$app-deploy-") ]] && return 0
  image="$(docker container inspect -f '{{.Config.Image}}' "$app" 2>/dev/null)" || return 1
  [[ $image != "lugh:$1-$sha" ]]
}
ensure_running() {
  local app="lugh-$1-app"
  if ! docker container inspect "$app" >/dev/null 2>&1; then
    echo "  $app is missing: putting $app-previous back under its name"
    # A restarted deploy runner may do the same at the same moment: either one wins.
    docker rename "$app-previous" "$app" 2>/dev/null || sleep 2
  fi
  if [[ $(docker container inspect -f '{{.State.Running}}' "$app") == true ]]; then
    echo "  $app runs $(docker container inspect -f '{{.Config.Image}}' "$app")"
  else
    echo "  starting $app"
    docker start "$app" >/dev/null || [[ $(docker container inspect -f '{{.State.Running}}' "$app") == true ]]
  fi
}
for env in staging prod; do
  if deployed_by_lugh "$env"; then
    step "$env is deployed by lugh: not recreating it, only making sure it runs"
    ensure_running "$env"
    continue
  fi
  step "migrating $env"
  LUGH_IMAGE_OVERRIDE="lugh:$env-$sha" compose "$env" run --rm --no-deps "$env-app" migrate
  step "starting $env (lugh:$env-$sha)"
  LUGH_IMAGE_OVERRIDE="lugh:$env-$sha" compose "$env" up -d
done

step "done"
docker ps --filter "name=lugh-" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
echo "Health: curl -fsS http://127.0.0.1:3001/healthz (staging), http://127.0.0.1:3000/healthz (production)"
echo "Isolation audit: docker run --rm --network lugh-staging-data -v $docker_socket:/var/run/docker.sock --group-add $docker_gid lugh:prod-$sha doctor"
