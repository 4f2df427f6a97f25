#!/usr/bin/env bash
# Both compose files parse (no Docker engine needed), the prod file refuses
# to start without its secrets, and its containers are hardened: read-only
# root, every capability dropped (only postgres' and nginx's few added back),
# no new privileges, the service as its least-privilege database role behind
# nginx's HTTPS; its backups (WAL archived continuously, full backups daily
# and differentials hourly, a retention) agree with db/pgbackrest.conf; the
# podman additions merge onto their files and the prod images take make
# release's REGISTRY and IMAGE_TAG; the prod network's subnet is the only one
# TRUSTED_PROXIES believes; mail is off unless SMTP_URL is given, and the mail
# sink (hardened too) runs only under the profile mail. Exit 77 = skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

# Without an engine or compose: the prod file's network and TRUSTED_PROXIES
# are one setting (USERS_SUBNET, same default), a subnet outside Docker's and
# podman's default pools, and every container is on that network; the
# database image fixes its locale at initdb (the stand-in honours it too).
if python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$root/docker-compose-prod.yml" <<'PY'
import ipaddress, re, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
trusted = spec["services"]["users-service"]["environment"]["TRUSTED_PROXIES"]
subnets = [c["subnet"] for c in spec["networks"]["default"]["ipam"]["config"]]
failures = []
if subnets != [trusted]:
    failures.append(f"the network's subnets {subnets} are not TRUSTED_PROXIES {trusted!r}")
m = re.fullmatch(r"\$\{USERS_SUBNET:-([0-9./]+)\}", trusted)
if not m:
    failures.append(f"TRUSTED_PROXIES {trusted!r} is not ${{USERS_SUBNET:-<subnet>}}")
else:
    net = ipaddress.ip_network(m.group(1))
    pools = ["172.16.0.0/12", "192.168.0.0/16", "10.88.0.0/15"]  # Docker's and podman's defaults
    if not net.is_private or any(net.overlaps(ipaddress.ip_network(p)) for p in pools):
        failures.append(f"the default subnet {net} is not private or overlaps a default pool {pools}")
for name, service in spec["services"].items():
    if "network_mode" in service or set(service.get("networks") or ["default"]) != {"default"}:
        failures.append(f"{name} is not on the default network alone")
for message in failures:
    print("FAIL: docker-compose-prod.yml: " + message)
sys.exit(1 if failures else 0)
PY
  echo "ok: prod compose network has a fixed subnet, the only one TRUSTED_PROXIES believes"
fi
grep -qE '^ENV POSTGRES_INITDB_ARGS=".*--locale=C\.UTF-8' "$root/db/Dockerfile" ||
  { echo "FAIL: db/Dockerfile does not initdb with --locale=C.UTF-8"; exit 1; }
# shellcheck disable=SC2016 # the entrypoint's own variable, literally
grep -qF '${POSTGRES_INITDB_ARGS:-}' "$root/tests/containers/postgres/docker-entrypoint.sh" ||
  { echo "FAIL: the postgres stand-in ignores POSTGRES_INITDB_ARGS"; exit 1; }
echo "ok: the compose database is initialised with the C.UTF-8 locale"

if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "SKIP: neither docker-compose nor the docker compose plugin is installed"; exit 77
fi
cd "$root"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
touch "$tmp/tls.crt" "$tmp/tls.key"
prod_env=(SECRET_KEY=static-check POSTGRES_PASSWORD=owner-pw APP_DB_PASSWORD=app-pw
          TLS_CERT_FILE="$tmp/tls.crt" TLS_KEY_FILE="$tmp/tls.key")
"${compose[@]}" -f docker-compose.yml config -q
echo "ok: docker-compose.yml"
env "${prod_env[@]}" "${compose[@]}" -f docker-compose-prod.yml config -q
echo "ok: docker-compose-prod.yml"
# The prod file must refuse to start without any of its secrets.
for variable in SECRET_KEY POSTGRES_PASSWORD APP_DB_PASSWORD TLS_CERT_FILE TLS_KEY_FILE; do
  if env "${prod_env[@]}" env -u "$variable" "${compose[@]}" -f docker-compose-prod.yml config -q 2>/dev/null; then
    echo "FAIL: docker-compose-prod.yml accepted a missing $variable"; exit 1
  fi
done
echo "ok: prod requires SECRET_KEY, POSTGRES_PASSWORD, APP_DB_PASSWORD, TLS_CERT_FILE and TLS_KEY_FILE"
# The podman additions (scripts/containers.sh env) merge onto their files.
"${compose[@]}" -f docker-compose.yml -f docker-compose.podman.yml config -q
echo "ok: docker-compose.yml + docker-compose.podman.yml"
env "${prod_env[@]}" "${compose[@]}" -f docker-compose-prod.yml -f docker-compose-prod.podman.yml config -q
echo "ok: docker-compose-prod.yml + docker-compose-prod.podman.yml"
# The prod images take the REGISTRY prefix and IMAGE_TAG of make release.
# (With the profile mail: docker compose v2 leaves a profile's services out
# of `config` unless it is named; docker-compose 1.29 lists them anyway.)
images=$(env "${prod_env[@]}" REGISTRY=127.0.0.1:5999/ IMAGE_TAG=abc1234 \
  "${compose[@]}" -f docker-compose-prod.yml --profile mail config | awk '$1 == "image:" {print $2}' | sort -u | tr '\n' ' ')
[ "$images" = "127.0.0.1:5999/users-db:abc1234 127.0.0.1:5999/users-mail-sink:abc1234 127.0.0.1:5999/users-nginx:abc1234 127.0.0.1:5999/users-service:abc1234 " ] || {
  echo "FAIL: prod image names with REGISTRY and IMAGE_TAG: $images"; exit 1; }
echo "ok: prod image names take REGISTRY and IMAGE_TAG"

if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "SKIP: python3-yaml is not installed for the hardening checks"; exit 77
fi
env "${prod_env[@]}" USERS_SUBNET=10.199.5.0/24 "${compose[@]}" -f docker-compose-prod.yml --profile mail config > "$tmp/prod.yml"
python3 - "$tmp/prod.yml" <<'PY'
import sys, yaml
rendered = yaml.safe_load(open(sys.argv[1]))
services = rendered["services"]
failures = []
def expect(condition, message):
    if not condition:
        failures.append(message)
# The minimum each image needs added back after cap_drop: [ALL].
minimum = {
    "users-db": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"},
    "users-db-backup": set(),
    "users-migrate": set(),
    "users-service": set(),
    "nginx": {"CHOWN", "NET_BIND_SERVICE", "SETUID", "SETGID"},
    "mail": set(),
}
expect(set(services) == set(minimum), f"services are {sorted(services)}, expected {sorted(minimum)}")
for name, spec in services.items():
    expect(spec.get("read_only") is True, f"{name}: read_only is not true")
    expect(spec.get("cap_drop") == ["ALL"], f"{name}: cap_drop is not [ALL]")
    added = set(spec.get("cap_add") or [])
    expect(added == minimum.get(name, set()), f"{name}: cap_add is {sorted(added)}, expected {sorted(minimum.get(name, set()))}")
    expect("no-new-privileges:true" in (spec.get("security_opt") or []), f"{name}: no security_opt no-new-privileges:true")
    expect("privileged" not in spec, f"{name}: privileged")
env = lambda name: services[name].get("environment") or {}
expect(env("users-service").get("DATABASE_URL", "").startswith("postgresql://users_app:"),
       "users-service does not connect as users_app")
expect(env("users-migrate").get("DATABASE_APP_ROLE") == "users_app",
       "users-migrate does not grant users_app (DATABASE_APP_ROLE)")
expect(env("users-migrate").get("DATABASE_URL", "").startswith("postgresql://postgres:"),
       "users-migrate does not run as the tables' owner")
expect(str(env("users-service").get("SECURITY_HEADERS")).lower() == "false",
       "users-service sends its own security headers behind nginx (SECURITY_HEADERS is not false)")
ports = {str(p.get("target")) if isinstance(p, dict) else str(p).split(":")[-1]
         for p in services["nginx"].get("ports", [])}
expect(ports == {"80", "443"}, f"nginx publishes {sorted(ports)}, expected 80 and 443")
secrets = {s["source"] if isinstance(s, dict) else s for s in services["nginx"].get("secrets", [])}
expect(secrets == {"tls_cert", "tls_key"}, f"nginx's secrets are {sorted(secrets)}")
expect(not services["users-service"].get("ports"), "users-service publishes a port (only nginx may)")
# Mail: off unless SMTP_URL is given (a relay, or the sink of the profile
# mail, which only that profile starts and which publishes nothing).
mail_env = {k: env("users-service").get(k) for k in
            ("SMTP_URL", "SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM", "PUBLIC_BASE_URL")}
expect(all(v in ("", None) for v in mail_env.values()), f"users-service's mail settings are not empty by default: {mail_env}")
expect(services["mail"].get("profiles") == ["mail"], "the mail sink is not under the compose profile mail alone")
expect(not services["mail"].get("ports"), "the mail sink publishes a port")
expect(any(str(v.get("target") if isinstance(v, dict) else v.split(":")[1]) == "/var/mail-sink"
           for v in services["mail"].get("volumes") or []), "the mail sink keeps its Maildir on no volume")
# The network as compose makes it: USERS_SUBNET moves the subnet and what the
# service trusts together.
networks = rendered.get("networks") or {}
subnets = [c["subnet"] for c in (networks.get("default", {}).get("ipam") or {}).get("config", [])]
expect(subnets == ["10.199.5.0/24"] and env("users-service").get("TRUSTED_PROXIES") == "10.199.5.0/24",
       f"with USERS_SUBNET=10.199.5.0/24 the network is {subnets}, TRUSTED_PROXIES {env('users-service').get('TRUSTED_PROXIES')}")
for message in failures:
    print("FAIL: " + message)
sys.exit(1 if failures else 0)
PY
echo "ok: prod containers hardened; the service as users_app behind nginx's HTTPS"

# Backups: PostgreSQL archives every WAL segment into the pgBackRest
# repository volume, the backup container shares the cluster's volumes and
# takes a full backup at least daily and a differential at least hourly, and
# pgBackRest keeps a bounded number of them; the paths and the stanza are
# those of the image's db/pgbackrest.conf.
python3 - "$tmp/prod.yml" "$root/db/pgbackrest.conf" <<'PY'
import configparser, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
services, volumes = compose["services"], compose.get("volumes") or {}
conf = configparser.ConfigParser(interpolation=None)
conf.read(sys.argv[2])
failures = []
def expect(condition, message):
    if not condition:
        failures.append(message)
stanzas = [s for s in conf.sections() if s != "global" and not s.startswith("global:")]
expect(len(stanzas) == 1, f"db/pgbackrest.conf: stanzas {stanzas}, expected one")
stanza = stanzas[0] if stanzas else ""
repo = conf.get("global", "repo1-path", fallback="")
pgdata = conf.get(stanza, "pg1-path", fallback="")
socket = conf.get(stanza, "pg1-socket-path", fallback="")
expect(conf.get("global", "start-fast", fallback="n") == "y",
       "db/pgbackrest.conf: start-fast is not y (a backup would wait for the next checkpoint)")

def mounts(name):  # target -> volume name
    found = {}
    for v in services[name].get("volumes") or []:
        if isinstance(v, dict):
            found[v["target"]] = v.get("source")
        else:
            parts = v.split(":")
            found[parts[1]] = parts[0]
    return found
def settings(name):  # -c name=value arguments of the server's command
    command = services[name].get("command") or []
    command = command.split() if isinstance(command, str) else command
    return dict(a.split("=", 1) for prev, a in zip(command, command[1:]) if prev == "-c" and "=" in a)

db, backup = mounts("users-db"), mounts("users-db-backup") if "users-db-backup" in services else {}
expect("users-db-backup" in services, "no users-db-backup service (the scheduled backups)")
server = settings("users-db")
expect(server.get("archive_mode") == "on", f"users-db: archive_mode is {server.get('archive_mode')}, not on")
expect(server.get("archive_command", "").startswith(f"pgbackrest --stanza={stanza} archive-push %p"),
       f"users-db: archive_command '{server.get('archive_command')}' does not push to pgBackRest's stanza {stanza}")
expect(0 < int(server.get("archive_timeout", "0")) <= 300,
       "users-db: archive_timeout is not set to at most 5 minutes (an idle server's WAL would wait unarchived)")
expect(db.get(pgdata) == "users-db-data", f"users-db: {pgdata} (pg1-path) is not the volume users-db-data")
for name, mounted in (("users-db", db), ("users-db-backup", backup)):
    expect(mounted.get(repo) == "users-db-backup",
           f"{name}: the repository {repo} (repo1-path) is not the volume users-db-backup")
expect(backup.get(pgdata) == "users-db-data", f"users-db-backup: does not mount users-db-data at {pgdata}")
expect(socket and db.get(socket) and backup.get(socket) == db.get(socket),
       f"users-db-backup: does not share users-db's socket directory {socket} (a volume in both)")
expect("users-db-backup" in volumes and "external" not in (volumes.get("users-db-backup") or {}),
       "the volume users-db-backup is not declared")
if "users-db-backup" in services:
    spec = services["users-db-backup"]
    env = {k: str(v) for k, v in (spec.get("environment") or {}).items()}
    expect(spec.get("image") == services["users-db"].get("image"), "users-db-backup does not run the database's image")
    expect(spec.get("entrypoint") == ["users-db-backup"] and spec.get("command") == ["schedule"],
           "users-db-backup does not run `users-db-backup schedule`")
    expect(spec.get("user") == "postgres", "users-db-backup does not run as the postgres user")
    expect(spec.get("restart") == "always", "users-db-backup does not restart always")
    def seconds(key):
        try:
            return int(env.get(key, ""))
        except ValueError:
            return 0
    expect(0 < seconds("BACKUP_FULL_EVERY") <= 86400, f"BACKUP_FULL_EVERY is {env.get('BACKUP_FULL_EVERY')}: not a full backup at least daily")
    expect(0 < seconds("BACKUP_DIFF_EVERY") <= 3600, f"BACKUP_DIFF_EVERY is {env.get('BACKUP_DIFF_EVERY')}: not a differential at least hourly")
    expect(seconds("BACKUP_DIFF_EVERY") < seconds("BACKUP_FULL_EVERY"), "differentials are not more frequent than full backups")
    for key in ("PGBACKREST_REPO1_RETENTION_FULL", "PGBACKREST_REPO1_RETENTION_DIFF"):
        expect(seconds(key) >= 1, f"users-db-backup: {key} is {env.get(key)}, not a count of backups to keep")
    expect(seconds("PGBACKREST_REPO1_RETENTION_FULL") * seconds("BACKUP_FULL_EVERY") >= 7 * 86400,
           "the retention keeps less than a week of full backups (the window a restore can reach)")
for message in failures:
    print("FAIL: " + message)
sys.exit(1 if failures else 0)
PY
echo "ok: prod backups: archive_mode on into the users-db-backup volume, full daily, differential hourly, retention"
