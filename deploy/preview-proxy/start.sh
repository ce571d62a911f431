#!/bin/sh
# The preview proxy's start (docker-compose.staging.yml, profile previews): Caddy with its
# admin API on this container's address on the compose network `edge` only, never on
# 0.0.0.0, because lugh connects this container to every preview's network and a preview
# must not reach the admin API. Staging's app, also on edge, calls it as
# http://lugh-preview-proxy:2019 (the origins Caddy accepts). After a restart the routes
# lugh made come back from Caddy's autosave, with the admin API moved to this start's address.
set -eu
ip=$(getent hosts "${PREVIEW_PROXY_ALIAS:-preview-proxy}" | awk '{ print $1; exit }')
if [ -z "$ip" ]; then
  echo "preview-proxy: cannot tell this container's address on the edge network (alias ${PREVIEW_PROXY_ALIAS:-preview-proxy})" >&2
  exit 1
fi
port=${PREVIEW_PROXY_ADMIN_PORT:-2019}
admin="{\"listen\":\"$ip:$port\",\"origins\":[\"lugh-preview-proxy:$port\",\"preview-proxy:$port\",\"$ip:$port\"]}"
saved="${XDG_CONFIG_HOME:-/config}/caddy/autosave.json"
config=${TMPDIR:-/tmp}/lugh-preview-proxy.json
if [ -s "$saved" ]; then
  sed -E "s/^\{\"admin\":\{[^}]*\}/{\"admin\":$admin/" "$saved" >"$config"
else
  printf '{"admin":%s}\n' "$admin" >"$config"
fi
exec caddy run --config "$config"
