#!/usr/bin/env bash
# Build the local base image lugh-base:node20 from this host's own Node.js.
#
# Why: on a host without access to an image registry there is no node:20 image to pull.
# This script assembles a minimal root filesystem instead and loads it with
# `docker import`:
#   - the host's `node` binary and the shared libraries it links (ldd),
#   - the host's npm (made runnable as `npm` / `npx`),
#   - the host's CA bundle (/etc/ssl/certs/ca-certificates.crt), with
#     NODE_EXTRA_CA_CERTS pointing at it, so npm and the app trust the same CAs as the host,
#   - a static busybox (package busybox-static) providing sh, env, wget, id, ...
#     (Debian's busybox-static has no adduser: add users by appending to /etc/passwd),
#   - the host's pg_dump and pg_restore (package postgresql-client) and their libraries:
#     production deploys back up their database with pg_dump, /restore puts a backup back
#     with pg_restore,
#   - librt and libgcc_s, which native npm packages link (the /history chart's resvg
#     binary needs librt.so.1; node itself may not).
#
# Usage: deploy/make-base-image.sh [--force] [--tag TAG]
#   Skips the build when the image already exists, unless --force.
#   The tag defaults to $LUGH_BASE_IMAGE or lugh-base:node20.
set -euo pipefail

tag="${LUGH_BASE_IMAGE:-lugh-base:node20}"
force=0
while (($#)); do
  case "$1" in
    --force) force=1 ;;
    --tag) tag="${2:?--tag needs a value}"; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "make-base-image: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "make-base-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "no Docker engine reachable (is dockerd running?)"

# Bumped when the image gains something; an older image is rebuilt.
BASE_VERSION=2
if [[ $force == 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
  have="$(docker image inspect -f '{{index .Config.Labels "lugh.base.version"}}' "$tag" 2>/dev/null || true)"
  if [[ $have == "$BASE_VERSION" ]]; then
    log "$tag already exists (use --force to rebuild)"
    exit 0
  fi
  log "$tag is an older base (version ${have:-1}); rebuilding as version $BASE_VERSION"
fi

# --- find the host's pieces ---------------------------------------------------------
node_bin="$(readlink -f "$(command -v node || true)")"
[[ -x $node_bin ]] || die "node not found on PATH"
node_version="$("$node_bin" -p 'process.versions.node')"
[[ ${node_version%%.*} == 20 ]] || die "host node is $node_version; the tag says node20"

npm_dir=""
if command -v npm >/dev/null; then
  # /usr/bin/npm -> ../lib/node_modules/npm/bin/npm-cli.js
  npm_cli="$(readlink -f "$(command -v npm)")"
  candidate="$(dirname "$(dirname "$npm_cli")")"
  [[ -f $candidate/bin/npm-cli.js ]] && npm_dir="$candidate"
fi
if [[ -z $npm_dir ]]; then
  for candidate in /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm /usr/share/nodejs/npm; do
    if [[ -f $candidate/bin/npm-cli.js ]]; then npm_dir="$candidate"; break; fi
  done
fi
[[ -n $npm_dir ]] || die "cannot find the host's npm (looked for .../node_modules/npm/bin/npm-cli.js)"

busybox_bin=""
for candidate in /bin/busybox /usr/bin/busybox "$(command -v busybox || true)"; do
  [[ -n $candidate && -x $candidate ]] || continue
  # A dynamically linked busybox would need its own libraries; insist on the static one.
  if ! ldd "$candidate" >/dev/null 2>&1; then busybox_bin="$candidate"; break; fi
done
[[ -n $busybox_bin ]] || die "no static busybox found (apt-get install busybox-static)"

pg_dump_bin=""
for candidate in /usr/lib/postgresql/*/bin/pg_dump; do
  [[ -x $candidate ]] && pg_dump_bin="$candidate"
done
[[ -n $pg_dump_bin ]] || die "pg_dump not found under /usr/lib/postgresql/*/bin (apt-get install postgresql-client)"
pg_restore_bin="$(dirname "$pg_dump_bin")/pg_restore"
[[ -x $pg_restore_bin ]] || die "pg_restore not found beside $pg_dump_bin (apt-get install postgresql-client)"

ca_bundle=/etc/ssl/certs/ca-certificates.crt
[[ -s $ca_bundle ]] || die "$ca_bundle missing (apt-get install ca-certificates)"

log "node $node_version from $node_bin, npm $(node "$npm_dir/bin/npm-cli.js" --version) from $npm_dir"
log "busybox from $busybox_bin, CA bundle $ca_bundle"

# --- assemble the root filesystem -----------------------------------------------------
rootfs="$(mktemp -d /tmp/lugh-base-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

# Merged-/usr layout like Debian 12: /bin, /sbin, /lib, /lib64 are links into /usr.
mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64} "$rootfs"/{etc/ssl/certs,root,home,tmp,var/tmp,run,proc,sys,dev}
ln -s usr/bin "$rootfs/bin"
ln -s usr/sbin "$rootfs/sbin"
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 700 "$rootfs/root"

# busybox and its applets (sh, env, wget, ...), as symlinks like `busybox --install -s`.
cp "$busybox_bin" "$rootfs/usr/bin/busybox"
while read -r applet; do
  [[ -n $applet && $applet != */busybox ]] || continue
  [[ -e $rootfs/$applet || -L $rootfs/$applet ]] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -s /usr/bin/busybox "$rootfs/$applet"
done < <("$busybox_bin" --list-full)

# node and every shared library it links, at the same paths as on the host.
cp "$node_bin" "$rootfs/usr/bin/node"
while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done < <(ldd "$node_bin" | grep -oE '/[^ ]+' | sort -u)

# pg_dump and pg_restore (the real binaries, not Debian's perl wrapper) and their libraries.
mkdir -p "$rootfs/usr/local/bin"
cp "$pg_dump_bin" "$rootfs/usr/local/bin/pg_dump"
cp "$pg_restore_bin" "$rootfs/usr/local/bin/pg_restore"
while read -r lib; do
  [[ -e $rootfs$lib ]] && continue
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done < <({ ldd "$pg_dump_bin"; ldd "$pg_restore_bin"; } | grep -oE '/[^ ]+' | sort -u)

# Libraries of Debian's libc6 and libgcc-s1 that a native npm package may link though node
# does not (resvg for the /history chart links librt.so.1), as node:20-bookworm-slim has.
for name in librt.so.1 libgcc_s.so.1; do
  lib=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64|x86_64|AArch64/ && !found { print $NF; found = 1 }')
  [[ -n $lib ]] || die "$name not found (ldconfig -p): install libc6 and libgcc-s1"
  [[ -e $rootfs$lib ]] && continue
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

# npm, runnable through the usual symlinks (npm-cli.js starts with #!/usr/bin/env node).
mkdir -p "$rootfs/usr/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"

cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$rootfs/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 640 "$rootfs/etc/shadow"
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"

# --- import, check, then tag ----------------------------------------------------------
# Import under a scratch tag first so a failed check never leaves a broken $tag behind.
candidate="${tag}-candidate-$$"
cleanup() {
  rm -rf "$rootfs"
  docker image rm "$candidate" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "importing $tag"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV NPM_CONFIG_UPDATE_NOTIFIER=false' \
    --change 'WORKDIR /' \
    --change 'CMD ["node"]' \
    --change "LABEL lugh.base.version=$BASE_VERSION" \
    --message "lugh base image: host node $node_version, npm, busybox, CA bundle" \
    - "$candidate" >/dev/null

docker run --rm "$candidate" node -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$node_version" ||
  die "node does not run in the image"
docker run --rm "$candidate" npm --version >/dev/null || die "npm does not run in the image"
docker run --rm "$candidate" pg_dump --version >/dev/null || die "pg_dump does not run in the image"
docker run --rm "$candidate" pg_restore --version >/dev/null || die "pg_restore does not run in the image"
docker run --rm "$candidate" sh -c 'command -v env && command -v wget && id -u' >/dev/null ||
  die "busybox applets missing in the image"

previous="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
docker tag "$candidate" "$tag"
# A --force rebuild leaves the previous image untagged; remove it unless something uses it.
if [[ -n $previous && $previous != "$(docker image inspect -f '{{.Id}}' "$tag")" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
log "built $tag"
