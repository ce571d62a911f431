#!/usr/bin/env bash
# Build local stand-ins for the infra project's images from this host's own Postgres 15
# and Redis: lugh-postgres:15-local and lugh-redis:7-local.
#
# Why: on a host without access to an image registry there is no postgres:15-bookworm or
# redis:7-bookworm to pull (the same reason as deploy/make-base-image.sh). Each image is a
# minimal root filesystem loaded with `docker import`:
#   - the host's binaries (postgresql-15's server and client, redis-server and
#     redis-cli) and every shared library they link (ldd), at the host's paths;
#   - a static busybox (busybox-static) for sh and the usual tools, the host's bash
#     (deploy/init-databases.sh is a bash script) and setpriv (to drop root);
#   - for Redis, an entrypoint that turns protected mode off, as the official image is
#     built (other containers reach it without a password);
#   - for Postgres, an entrypoint that does what lugh uses of the official image's: on an
#     empty data directory it runs initdb with POSTGRES_PASSWORD for the superuser
#     `postgres`, runs /docker-entrypoint-initdb.d/*.sh against a local-only server, then
#     starts postgres listening on every address (password auth, scram-sha-256).
# Then point the infra project at them in .env.infra.local:
#   POSTGRES_IMAGE=lugh-postgres:15-local
#   REDIS_IMAGE=lugh-redis:7-local
#
# Usage: deploy/make-infra-images.sh [--force]
#   Skips an image that already exists at the current version, unless --force.
set -euo pipefail

force=0
while (($#)); do
  case "$1" in
    --force) force=1 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "make-infra-images: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "make-infra-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "no Docker engine reachable (is dockerd running?)"

POSTGRES_TAG=lugh-postgres:15-local
REDIS_TAG=lugh-redis:7-local
# Bumped when an image changes; an older one is rebuilt.
INFRA_VERSION=2

current() {
  [[ $force == 0 ]] &&
    [[ "$(docker image inspect -f '{{index .Config.Labels "lugh.infra.version"}}' "$1" 2>/dev/null || true)" == "$INFRA_VERSION" ]]
}

busybox_bin=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [[ -x $candidate ]] && ! ldd "$candidate" >/dev/null 2>&1; then busybox_bin="$candidate"; break; fi
done
[[ -n $busybox_bin ]] || die "no static busybox found (apt-get install busybox-static)"

# new_rootfs <dir>: a merged-/usr skeleton with busybox, bash and setpriv.
new_rootfs() {
  local root="$1"
  mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,root,tmp,var/tmp,run,proc,sys,dev}
  ln -s usr/bin "$root/bin"
  ln -s usr/sbin "$root/sbin"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp "$busybox_bin" "$root/usr/bin/busybox"
  while read -r applet; do
    [[ -n $applet && $applet != */busybox ]] || continue
    [[ -e $root/$applet || -L $root/$applet ]] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /usr/bin/busybox "$root/$applet"
  done < <("$busybox_bin" --list-full)
  rm -f "$root/usr/bin/bash" "$root/bin/bash"
  add_binary "$root" "$(readlink -f /bin/bash)" /usr/bin/bash
  rm -f "$root/usr/bin/setpriv"
  add_binary "$root" "$(readlink -f /usr/bin/setpriv)" /usr/bin/setpriv
}

# add_libraries <root> <file>: every shared library the file links, at the host's paths.
add_libraries() {
  local lib
  while read -r lib; do
    [[ -e $1$lib ]] && continue
    mkdir -p "$1$(dirname "$lib")"
    cp -L "$lib" "$1$lib"
  done < <(ldd "$2" 2>/dev/null | grep -oE '/[^ ]+' | sort -u)
}

# add_binary <root> <host file> [<path in the image>]
add_binary() {
  [[ -x $2 ]] || die "$2 not found"
  local target="${3:-$2}"
  mkdir -p "$1$(dirname "$target")"
  cp -L "$2" "$1$target"
  add_libraries "$1" "$2"
}

# import <rootfs> <tag> <docker import --change …>: import, then tag only once it runs.
import() {
  local root="$1" tag="$2"
  shift 2
  local candidate="$tag-candidate-$$"
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import "$@" --change "LABEL lugh.infra.version=$INFRA_VERSION" - "$candidate" >/dev/null ||
    die "docker import of $tag failed"
  echo "$candidate"
}

workdir="$(mktemp -d /tmp/lugh-infra-images.XXXXXX)"
candidates=()
cleanup() {
  rm -rf "$workdir"
  for c in "${candidates[@]}"; do docker image rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# --- Postgres ---------------------------------------------------------------------------
if current "$POSTGRES_TAG"; then
  log "$POSTGRES_TAG already exists (use --force to rebuild)"
else
  pg_home=/usr/lib/postgresql/15
  [[ -x $pg_home/bin/postgres ]] || die "$pg_home/bin/postgres not found (apt-get install postgresql-15)"
  root="$workdir/postgres"
  new_rootfs "$root"
  mkdir -p "$root$pg_home"
  cp -a "$pg_home/." "$root$pg_home/"
  for file in "$pg_home"/bin/* "$pg_home"/lib/*.so; do add_libraries "$root" "$file"; done
  mkdir -p "$root/usr/share/postgresql" "$root/usr/share/zoneinfo"
  cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/15"
  cp -a /usr/share/zoneinfo/. "$root/usr/share/zoneinfo/"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
postgres:x:999:
nogroup:x:65534:
EOF
  mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql" "$root/docker-entrypoint-initdb.d"
  chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
  chmod 2777 "$root/var/run/postgresql"
  mkdir -p "$root/usr/local/bin"
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/usr/bin/bash
# The part of the official postgres image's entrypoint lugh relies on.
set -euo pipefail
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} != postgres ]]; then exec "$@"; fi
shift
if [[ $(id -u) == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required for a new data directory}"
  initdb --username=postgres --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C -D "$PGDATA" >/dev/null
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  export POSTGRES_USER=postgres POSTGRES_DB=postgres
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
      *.sql) psql -v ON_ERROR_STOP=1 --no-psqlrc -U postgres -f "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "docker-entrypoint: initialised $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
EOF
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  log "importing $POSTGRES_TAG (host Postgres $("$pg_home/bin/postgres" --version | awk '{print $3}'))"
  candidate="$(import "$root" "$POSTGRES_TAG" \
    --change "ENV PATH=$pg_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]')"
  candidates+=("$candidate")
  # SIGINT is Postgres's fast shutdown (SIGTERM waits for every client to leave), as in the
  # official image; `docker import` cannot set a stop signal, a one-line build can (no pull).
  printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$candidate" | docker build -q -t "$candidate" - >/dev/null ||
    die "setting the stop signal of $POSTGRES_TAG failed"
  docker run --rm "$candidate" pg_isready --version >/dev/null || die "pg_isready does not run in the image"
  docker run --rm -u postgres "$candidate" bash -c 'psql --version && postgres --version' >/dev/null ||
    die "psql or postgres does not run in the image"
  docker tag "$candidate" "$POSTGRES_TAG"
  log "built $POSTGRES_TAG"
fi

# --- Redis ------------------------------------------------------------------------------
if current "$REDIS_TAG"; then
  log "$REDIS_TAG already exists (use --force to rebuild)"
else
  root="$workdir/redis"
  new_rootfs "$root"
  add_binary "$root" "$(readlink -f /usr/bin/redis-server)" /usr/bin/redis-server
  add_binary "$root" "$(readlink -f /usr/bin/redis-cli)" /usr/bin/redis-cli
  mkdir -p "$root/data" "$root/usr/local/bin"
  # The official image is built with protected mode off (it would refuse every client
  # from another container when no password is set); this one turns it off at start.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
ENTRYPOINT
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  log "importing $REDIS_TAG (host $(/usr/bin/redis-server --version | awk '{print $3}'))"
  candidate="$(import "$root" "$REDIS_TAG" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /data' \
    --change 'EXPOSE 6379' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["redis-server"]')"
  candidates+=("$candidate")
  docker run --rm --entrypoint redis-server "$candidate" --version >/dev/null || die "redis-server does not run in the image"
  docker run --rm --entrypoint redis-cli "$candidate" --version >/dev/null || die "redis-cli does not run in the image"
  docker tag "$candidate" "$REDIS_TAG"
  log "built $REDIS_TAG"
fi
