#!/usr/bin/env python3
"""Prints a compose file without what `docker stack deploy` rejects or cannot honour.

    python3 deploy/swarm/compose-for-swarm.py docker-compose.prod.yml |
      docker stack deploy -c - -c deploy/swarm/prod.yml lugh-prod

docker-compose.staging.yml and docker-compose.prod.yml are written for docker-compose 1.29
on one engine (deploy/bootstrap.sh), and stay so. `docker stack deploy` refuses two of their
keys outright (`cpu_shares`: "forbidden", set limits with deploy.resources; `group_add`: not
in the stack schema) and ignores others with a warning, or worse, silently:
`container_name` (Swarm names tasks itself), `restart` (deploy.restart_policy instead),
`oom_score_adj`, and a port's host address (`127.0.0.1:3000:3000` is published on every
address of every node by the routing mesh). Those are removed here, whole, from every
service; the overlay in deploy/swarm/ says what Swarm does instead (the published port, the
restart policy, the docker group as the user's group). Nothing else changes: the output is
the same file, keys in the same order, for the docker CLI to interpolate and merge with the
overlay. A service under a compose profile (`profiles:`, e.g. staging's optional
`preview-proxy`) is left out whole: a stack has no profiles, so it would always run
(`docker stack deploy` refuses the key), and previews are not run on Swarm. Run from the repository's root (env_file paths are relative to it).

Needs Python 3 and PyYAML (python3-yaml: Debian's docker-compose depends on it).
"""
import sys

import yaml

# Docker-only keys of a service, and why each goes (the overlay says what replaces it).
DOCKER_ONLY = {
    "container_name": "Swarm names each task <stack>_<service>.<slot>.<task id>",
    "restart": "deploy.restart_policy",
    "cpu_shares": "forbidden by docker stack deploy; deploy.resources limits CPU",
    "oom_score_adj": "not a Swarm service setting",
    "group_add": "not in the stack schema; the overlay's user: 10001:<docker gid>",
    "ports": "a host address cannot be given to the routing mesh; the overlay publishes",
}


def main(path):
    with open(path, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose.get("services") or {}
    for name in [n for n, s in services.items() if s and s.get("profiles")]:
        del services[name]
    for service in services.values():
        for key in DOCKER_ONLY:
            service.pop(key, None)
    yaml.safe_dump(compose, sys.stdout, sort_keys=False, default_flow_style=False)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: compose-for-swarm.py <compose file>")
    main(sys.argv[1])
