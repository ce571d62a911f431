#!/usr/bin/env bash
# Bootstrap lugh on Docker Swarm: both environments as stacks (README "Docker Swarm").
#
# Run as root on a swarm manager, from a checkout of the repository:
#   deploy/bootstrap-swarm.sh [--init] [--advertise-addr ADDR] [--dry-run]
# (`deploy/bootstrap.sh --swarm …` runs this script.)
#
# What it does, in order (each step says what it is doing; it stops at the first failure):
#   1. the engine: with --init, makes it a single-node swarm manager when it is in no swarm
#      (`docker swarm init --advertise-addr ADDR`, default 127.0.0.1: give the address the
#      other nodes reach if nodes will join); without --init it must be a manager already;
#   2. checks .env.infra.local, .env.staging.local and .env.prod.local as bootstrap.sh does;
#   3. the image registry: Debian's docker-registry package (the CNCF distribution
#      registry 2.8) as a host service on REGISTRY_ADDR (default 127.0.0.1:5000), deletes
#      enabled (retention removes old tags), anonymous: when it does not answer, bootstrap
#      writes its own REGISTRY_CONFIG (default /etc/docker/registry/config.yml, the
#      package's, whose htpasswd auth and :5000 on every address it replaces). A host service, not an image run as a Swarm
#      service: no registry is reachable from which to pull a registry image, a Swarm
#      service could not pull its own image from itself on another node, and its storage
#      belongs to one node anyway; apt keeps the binary updated;
#   4. the data networks lugh-staging-data and lugh-prod-data as internal, attachable
#      overlay networks (no route out; Swarm services and the infra containers both join);
#   5. infra, Postgres and Redis, as the lugh-infra compose project on this node, as
#      bootstrap.sh starts it (docker-compose.infra.yml with deploy/swarm/infra.yml, which
#      makes its networks the overlays above, external). A database is one process on one node's volume: Swarm would add
#      nothing but a start-first update that runs two servers on one data directory;
#   6. the Docker secrets of each environment, from its .env files (.local wins): every
#      variable the overlay (deploy/swarm/<env>.yml) reads through *_FILE. A secret is named
#      <stack>-<name>; a changed value is rotated the Swarm way (a Docker secret cannot
#      change): a new secret <stack>-<name>-v<n+1>, which the stack then mounts at the same
#      path; the versions no service uses any more are removed at the end. A value's SHA-256
#      is kept on its secret as the label lugh.sha256, to tell a changed value: whoever can
#      read a secret's labels holds the manager's API, which can read the secret itself;
#   7. the image: lugh:sha-<sha12> built unless present, pushed as
#      REGISTRY_ADDR/lugh:sha-<sha12>, deployed by its digest (every node runs the same bytes);
#   8. migrations of each environment: a one-off `docker run … migrate` on this manager, on
#      the environment's data network, its secrets given as files (never in its env);
#   9. `docker stack deploy` of staging, then production (compose file through
#      deploy/swarm/compose-for-swarm.py, plus the overlay), and waits for each to run.
# An environment whose service exists already belongs to its deployer (DEPLOY_RUNTIME=swarm):
# bootstrap keeps the image it runs and runs no migration; the stack is deployed again
# (secrets rotated, overlay changes), which Swarm does as a start-first update.
#
# --dry-run: checks and reads everything, and prints each command that would change
# something instead of running it (secret values never printed).
#
# Names can be changed (tests, a second install on one swarm); the defaults are the names above:
#   LUGH_STACK_STAGING (lugh-staging), LUGH_STACK_PROD (lugh-prod): the stacks, and the
#     prefix of their secrets (<stack>-<name>);
#   LUGH_DATA_NETWORK_STAGING / _PROD (lugh-staging-data, lugh-prod-data);
#   LUGH_INFRA_PREFIX (lugh): the infra project <prefix>-infra, its containers
#     <prefix>-postgres and <prefix>-redis (the hosts in DATABASE_URL and REDIS_URL) and
#     volumes <prefix>-pgdata and <prefix>-redisdata, through deploy/swarm/infra.yml;
#   LUGH_STACK_OVERRIDE_STAGING / _PROD: one more stack file, given last to
#     `docker stack deploy` (labels, a shorter health-check interval);
#   in the .local files: LUGH_HOME, LUGH_PUBLISHED_PORT (3001 / 3000), LUGH_UPDATE_MONITOR
#     (30s), DEPLOY_IMAGE_REPOSITORY (lugh: the image lugh:sha-<sha12>, see 7.).
# A registry that answers at REGISTRY_ADDR is used as it is (nothing installed or written),
# and without --init the swarm is left as it is.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
REGISTRY_CONFIG="${REGISTRY_CONFIG:-/etc/docker/registry/config.yml}"
APP_UID=10001
INFRA_PREFIX="${LUGH_INFRA_PREFIX:-lugh}"
infra_project="$INFRA_PREFIX-infra"
postgres_container="$INFRA_PREFIX-postgres"

init=0
dry_run=0
advertise=127.0.0.1
while (($#)); do
  case "$1" in
    --swarm) ;;
    --init) init=1 ;;
    --advertise-addr) advertise="$2"; shift ;;
    --dry-run) dry_run=1 ;;
    -h | --help) sed -n '2,59p' "$0"; exit 0 ;;
    *) echo "bootstrap-swarm: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }
die() { echo "bootstrap-swarm: error: $*" >&2; exit 1; }
# run <command…>: runs it, or in a dry run prints it.
run() {
  if ((dry_run)); then printf '  would run: %s\n' "$*"; else "$@"; fi
}

((dry_run)) || [[ $(id -u) == 0 ]] || die "run as root (or try --dry-run)"

stack_of() { case "$1" in staging) echo "${LUGH_STACK_STAGING:-lugh-staging}" ;; prod) echo "${LUGH_STACK_PROD:-lugh-prod}" ;; esac; }
stack_override_of() {
  case "$1" in staging) echo "${LUGH_STACK_OVERRIDE_STAGING:-}" ;; prod) echo "${LUGH_STACK_OVERRIDE_PROD:-}" ;; esac
}
data_network_of() {
  case "$1" in
    staging) echo "${LUGH_DATA_NETWORK_STAGING:-lugh-staging-data}" ;;
    prod) echo "${LUGH_DATA_NETWORK_PROD:-lugh-prod-data}" ;;
  esac
}
# effective <env> <VAR>: the variable as the shell sees it after sourcing .env.<env> and
# its .local (quotes and all, as compose and `docker stack deploy` get it).
effective() {
  (
    set -a
    # shellcheck disable=SC1090
    . "./.env.$1"
    # shellcheck disable=SC1090
    [[ -f ./.env.$1.local ]] && . "./.env.$1.local"
    set +a
    printf '%s' "${!2:-}"
  )
}
placeholder() { [[ $1 == __*__ || $1 == *__SET_IN_* ]]; }
# secrets_of <env>: "VAR key" for each secret the overlay mounts (VAR_FILE: /run/secrets/key).
secrets_of() {
  sed -n 's|^ *\([A-Z][A-Z0-9_]*\)_FILE: /run/secrets/\([a-z0-9-]*\)$|\1 \2|p' "deploy/swarm/$1.yml"
}

# --- 1. the swarm --------------------------------------------------------------------------
step "Docker engine as a swarm manager"
command -v docker >/dev/null || die "docker is not installed (deploy/bootstrap.sh installs it)"
state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
if [[ $state != active ]]; then
  ((init)) || die "this engine is in no swarm: run with --init (a single-node swarm), or join one as a manager"
  run docker swarm init --advertise-addr "$advertise"
elif [[ $(docker info --format '{{.Swarm.ControlAvailable}}') != true ]]; then
  die "this engine is a swarm worker: run bootstrap on a manager (lugh updates services through it)"
else
  echo "  a manager of swarm $(docker info --format '{{.Swarm.Cluster.ID}}')"
fi
command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null ||
  die "python3 with PyYAML is needed (apt-get install python3-yaml; docker-compose brings it)"
command -v docker-compose >/dev/null && command -v curl >/dev/null ||
  die "docker-compose and curl are needed (apt-get install docker-compose curl)"

# --- 2. the .local files -------------------------------------------------------------------
step "checking .env.*.local files"
for env in infra staging prod; do
  [[ -f .env.$env.local ]] || die ".env.$env.local is missing: copy the placeholders from .env.$env and fill them in"
done
for env in staging prod; do
  for key in TELEGRAM_BOT_TOKEN ADMIN_IDS DATABASE_URL LUGH_HOME; do
    value="$(effective "$env" "$key")"
    [[ -n $value ]] && ! placeholder "$value" || die "$key in .env.$env.local is missing or still a placeholder"
  done
done
[[ $(effective staging TELEGRAM_BOT_TOKEN) != "$(effective prod TELEGRAM_BOT_TOKEN)" ]] ||
  die "staging and production use the same TELEGRAM_BOT_TOKEN (two pollers on one token fail)"

# --- 3. the registry -----------------------------------------------------------------------
step "image registry on $REGISTRY_ADDR (Debian's docker-registry)"
if ! curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
  if ! command -v docker-registry >/dev/null; then
    run apt-get install -y --no-install-recommends docker-registry
  fi
  config="version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
"
  if [[ $(cat "$REGISTRY_CONFIG" 2>/dev/null) != "$config" ]]; then
    if ((dry_run)); then
      echo "  would write $REGISTRY_CONFIG (addr $REGISTRY_ADDR, deletes enabled)"
    else
      mkdir -p "$(dirname "$REGISTRY_CONFIG")"
      printf '%s' "$config" >"$REGISTRY_CONFIG"
    fi
  fi
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    run systemctl enable docker-registry
    run systemctl restart docker-registry
  else
    # No systemd (a container, a chroot): the package's init script.
    run service docker-registry restart
  fi
  if ((!dry_run)); then
    for _ in $(seq 1 30); do curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && break; sleep 1; done
    curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null || die "the registry does not answer at $REGISTRY_ADDR"
  fi
else
  echo "  answers at http://$REGISTRY_ADDR/v2/"
fi

# --- 4. data networks ----------------------------------------------------------------------
step "data networks (internal, attachable overlays)"
for env in staging prod; do
  net="$(data_network_of "$env")"
  if driver="$(docker network inspect -f '{{.Driver}} {{.Internal}} {{.Attachable}}' "$net" 2>/dev/null)"; then
    [[ $driver == "overlay true true" ]] ||
      die "network $net exists as \"$driver\" (driver internal attachable): a Swarm install needs an internal attachable overlay; remove it (docker-compose -p $infra_project down) and run again"
    echo "  $net exists"
  else
    run docker network create --driver overlay --internal --attachable "$net"
  fi
done

# --- 5. infra ------------------------------------------------------------------------------
step "infra (Postgres, Redis): the $infra_project compose project on this node"
infra() {
  (
    set -a
    . ./.env.infra
    . ./.env.infra.local
    set +a
    export LUGH_INFRA_PREFIX="$INFRA_PREFIX" LUGH_DATA_NETWORK_STAGING="$(data_network_of staging)" \
      LUGH_DATA_NETWORK_PROD="$(data_network_of prod)"
    run docker-compose -p "$infra_project" --env-file .env.infra -f docker-compose.infra.yml \
      -f deploy/swarm/infra.yml "$@"
  )
}
infra up -d
if ((!dry_run)); then
  for _ in $(seq 1 60); do
    docker exec "$postgres_container" pg_isready -h 127.0.0.1 -U postgres -q 2>/dev/null && break
    sleep 2
  done
  docker exec "$postgres_container" pg_isready -h 127.0.0.1 -U postgres -q || die "Postgres did not become ready"
  (
    set -a
    . ./.env.infra
    . ./.env.infra.local
    set +a
    docker exec -i -e STAGING_DB_PASSWORD -e PROD_DB_PASSWORD -u postgres "$postgres_container" \
      bash -s <deploy/init-databases.sh
  )
fi

# --- 6. secrets ----------------------------------------------------------------------------
# Each environment's secret names, for the stack deploy: <VAR>_SECRET=<name>.
declare -A secret_name=()
ensure_secret() {
  local env="$1" var="$2" key="$3" stack base value digest current="" version=0 name n
  stack="$(stack_of "$env")"
  base="$stack-$key"
  value="$(effective "$env" "$var")"
  # An optional secret left unset (or a committed placeholder) is an empty file: unset for lugh.
  placeholder "$value" && value=""
  digest="$(printf '%s\n' "$value" | sha256sum | cut -d' ' -f1)"
  while read -r name; do
    [[ -n $name ]] || continue
    n=1
    [[ $name =~ -v([0-9]+)$ ]] && n="${BASH_REMATCH[1]}"
    if ((n > version)); then version=$n; current=$name; fi
  done < <(docker secret ls --filter "label=lugh.secret=$base" --format '{{.Name}}')
  if [[ -n $current && $(docker secret inspect -f '{{index .Spec.Labels "lugh.sha256"}}' "$current") == "$digest" ]]; then
    echo "  $current ($var): unchanged"
    secret_name[$env.$var]="$current"
    return
  fi
  if [[ -z $current ]]; then name="$base"; else name="$base-v$((version + 1))"; fi
  if ((dry_run)); then
    echo "  would create secret $name from $var${current:+ (rotating $current: the value changed)}"
  else
    printf '%s\n' "$value" |
      docker secret create --label "lugh.secret=$base" --label "lugh.sha256=$digest" \
        --label "lugh.environment=$env" "$name" - >/dev/null
    echo "  created $name from $var${current:+ (rotated from $current: the value changed)}"
  fi
  secret_name[$env.$var]="$name"
}
for env in staging prod; do
  step "Docker secrets of $env ($(stack_of "$env")-*)"
  while read -r var key; do ensure_secret "$env" "$var" "$key"; done < <(secrets_of "$env")
done

# --- 7. image ------------------------------------------------------------------------------
sha="$(git rev-parse --short=12 HEAD)"
repo="$(effective staging DEPLOY_IMAGE_REPOSITORY)"
repo="${repo:-lugh}"
if docker image inspect "$repo:sha-$sha" >/dev/null 2>&1; then
  step "$repo:sha-$sha exists"
else
  step "building $repo:sha-$sha from $BASE_IMAGE"
  run docker build \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "GIT_SHA=$(git rev-parse HEAD)" \
    --build-arg "BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --label "lugh.sha=$(git rev-parse HEAD)" \
    -t "$repo:sha-$sha" .
fi
pushed="$REGISTRY_ADDR/$repo:sha-$sha"
step "pushing $pushed"
run docker tag "$repo:sha-$sha" "$pushed"
run docker push "$pushed"
image="$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$pushed" 2>/dev/null |
  grep "^$REGISTRY_ADDR/$repo@" | head -n 1 || true)"
if [[ -z $image ]]; then
  ((dry_run)) || die "no digest of $pushed after the push"
  image="$pushed"
fi
echo "  deploying $image"

# --- 8. and 9. migrations and stacks -------------------------------------------------------
docker_gid="$(stat -c %g /var/run/docker.sock 2>/dev/null || echo 999)"
# secret_files <env> <dir>: writes the environment's secrets as files, as Swarm mounts them.
secret_files() {
  local env="$1" dir="$2" var key
  while read -r var key; do
    value="$(effective "$env" "$var")"
    placeholder "$value" && value=""
    printf '%s\n' "$value" >"$dir/$key"
  done < <(secrets_of "$env")
  chown -R "$APP_UID" "$dir"
  chmod 500 "$dir"
  chmod 400 "$dir"/*
}
migrate() {
  local env="$1" dir=/run/lugh-secrets-of-a-dry-run args=() var key
  if ((!dry_run)); then
    dir="$(mktemp -d)"
    secret_files "$env" "$dir"
  fi
  while read -r var key; do args+=(-e "${var}_FILE=/run/secrets/$key" -e "$var=__IN_${var}_FILE__"); done < <(secrets_of "$env")
  # The .local file's other settings (ADMIN_IDS, LUGH_HOME, PROMOTE_VERIFY_KEY …), by name only.
  for var in $(sed -n 's/^\([A-Z][A-Z0-9_]*\)=.*/\1/p' ".env.$env.local" | sort -u); do
    secrets_of "$env" | grep -q "^$var " || args+=(-e "$var")
  done
  (
    set -a
    . "./.env.$env"
    . "./.env.$env.local"
    set +a
    run docker run --rm --network "$(data_network_of "$env")" --env-file ".env.$env" "${args[@]}" \
      -v "$dir:/run/secrets:ro" "$image" migrate
  ) || {
    ((dry_run)) || rm -rf "$dir"
    die "the migrations of $env failed"
  }
  ((dry_run)) || rm -rf "$dir"
}
task_template() { docker service inspect -f '{{json .Spec.TaskTemplate}}' "$1"; }
# update_status <service>: "<state> <started at>" of its last update ("none -" when none).
update_status() {
  docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.StartedAt}}{{else}}none -{{end}}' "$1"
}
# REFRESH_DIR: /refresh staging's only channel, one host directory both stacks bind at the
# same path (uid 10001 in both: 0700). A bind's source is on the task's node: both apps are
# placed on managers, so on several managers it must be the same shared directory there.
refresh_dir="$(effective prod REFRESH_DIR)"
[[ $refresh_dir == "$(effective staging REFRESH_DIR)" ]] ||
  die "REFRESH_DIR differs between .env.staging and .env.prod: both must name the one shared directory"
if [[ -n $refresh_dir ]]; then
  if ((dry_run)); then echo "  would create $refresh_dir (owner $APP_UID, mode 0700)"; else
    mkdir -p "$refresh_dir"
    chown "$APP_UID:$APP_UID" "$refresh_dir"
    chmod 700 "$refresh_dir"
  fi
fi
for env in staging prod; do
  stack="$(stack_of "$env")"
  service="${stack}_$env-app"
  deploy_image="$image"
  override="$(stack_override_of "$env")"
  home="$(effective "$env" LUGH_HOME)"
  if ((dry_run)); then echo "  would create $home (owner $APP_UID)"; else
    mkdir -p "$home"
    chown "$APP_UID:$APP_UID" "$home"
    chmod 750 "$home"
  fi
  if running="$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service" 2>/dev/null)"; then
    step "$env is deployed by lugh ($service runs $running): keeping its image, no migration"
    deploy_image="$running"
  else
    step "migrating $env"
    migrate "$env"
  fi
  template_before="" started_before=""
  if ((!dry_run)) && docker service inspect "$service" >/dev/null 2>&1; then
    template_before="$(task_template "$service")"
    read -r _ started_before < <(update_status "$service") || true
  fi
  step "deploying the stack $stack ($deploy_image)"
  (
    set -a
    . "./.env.$env"
    . "./.env.$env.local"
    set +a
    export LUGH_IMAGE="$deploy_image" LUGH_STACK="$stack" DEPLOY_REGISTRY="$REGISTRY_ADDR" \
      LUGH_DATA_NETWORK="$(data_network_of "$env")" DOCKER_GID="$docker_gid"
    while read -r var _; do export "${var}_SECRET=${secret_name[$env.$var]}"; done < <(secrets_of "$env")
    files=(-c - -c "deploy/swarm/$env.yml")
    [[ -n $override ]] && files+=(-c "$override")
    if ((dry_run)); then
      echo "  would run: python3 deploy/swarm/compose-for-swarm.py docker-compose.$env.yml | docker stack deploy ${files[*]} $stack"
      # What would be deployed must be a valid stack: the docker CLI checks it (no secret in it).
      python3 deploy/swarm/compose-for-swarm.py "docker-compose.$env.yml" |
        docker stack config "${files[@]}" >/dev/null
    else
      python3 deploy/swarm/compose-for-swarm.py "docker-compose.$env.yml" |
        docker stack deploy "${files[@]}" "$stack"
    fi
  )
  if ((!dry_run)); then
    # A stack deploy that changed the task's spec (a rotated secret, an overlay change) is a
    # start-first update Swarm performs after the command returns: 1/1 holds all along, with
    # the old task. Wait for that update to finish (its UpdateStatus started after the
    # deploy, and completed); until then the old secrets are still what a rollback mounts.
    updated=0
    [[ -n $template_before && $(task_template "$service") != "$template_before" ]] && updated=1
    ok=0
    for _ in $(seq 1 150); do
      if ((updated)); then
        IFS=' ' read -r state started < <(update_status "$service")
        case "$state" in
          rollback_started | rollback_completed | rollback_paused | paused)
            die "the update of $service failed ($state): Swarm keeps or puts back the previous spec; see docker service ps --no-trunc $service"
            ;;
        esac
        if [[ $state == completed && $started != "$started_before" ]] &&
          [[ $(docker service ls --filter "name=$service" --format '{{.Replicas}}') == 1/1* ]]; then
          ok=1
          break
        fi
      elif [[ $(docker service ls --filter "name=$service" --format '{{.Replicas}}') == 1/1* ]]; then
        ok=1
        break
      fi
      sleep 2
    done
    ((ok)) || die "$service did not start: docker service ps --no-trunc $service"
    ((updated)) && echo "  $service updated" || echo "  $service runs"
  fi
done

# Secret versions no service mounts any more (a secret in use cannot be removed: kept).
step "removing rotated-out secrets"
for env in staging prod; do
  while read -r var key; do
    base="$(stack_of "$env")-$key"
    for name in $(docker secret ls --filter "label=lugh.secret=$base" --format '{{.Name}}'); do
      [[ $name == "${secret_name[$env.$var]}" ]] && continue
      if ((dry_run)); then echo "  would remove $name if no service uses it"; else
        docker secret rm "$name" >/dev/null 2>&1 && echo "  removed $name" || echo "  $name is still in use: kept"
      fi
    done
  done < <(secrets_of "$env")
done

step "done"
docker service ls --filter "label=com.docker.stack.namespace" --format 'table {{.Name}}\t{{.Replicas}}\t{{.Image}}'
port_staging="$(effective staging LUGH_PUBLISHED_PORT)" port_prod="$(effective prod LUGH_PUBLISHED_PORT)"
echo "Health: curl -fsS http://127.0.0.1:${port_staging:-3001}/healthz (staging), http://127.0.0.1:${port_prod:-3000}/healthz (production)"
