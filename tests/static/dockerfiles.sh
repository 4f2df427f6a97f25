#!/usr/bin/env bash
# Every Dockerfile names bookworm-based images and Debian bookworm packages
# that exist; the database image carries pgBackRest, its configuration where
# pgBackRest reads it and the users-db-backup command docker-compose-prod.yml
# runs. Exit 77 = skipped (no apt metadata to check against).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
db_image=$(sed ':a;/\\$/{N;s/\\\n//;ba}' "$root/db/Dockerfile")
for expected in 'apt-get install[^&;]* pgbackrest( |$)' \
                '^COPY pgbackrest\.conf /etc/pgbackrest/pgbackrest\.conf$' \
                '^COPY backup\.sh /usr/local/bin/users-db-backup$'; do
  grep -Eq "$expected" <<<"$db_image" || { echo "FAIL: db/Dockerfile has no line matching $expected"; exit 1; }
done
[ -x "$root/db/backup.sh" ] || { echo "FAIL: db/backup.sh is not executable"; exit 1; }
echo "ok: db/Dockerfile installs pgbackrest, its configuration and users-db-backup"
# The mail: libcurl (SMTP) in the service's runtime stage, aiosmtpd in the sink's image.
runtime=$(sed ':a;/\\$/{N;s/\\\n//;ba}' "$root/services/users/Dockerfile" | awk 'toupper($1)=="FROM"{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}')
grep -Eq 'apt-get install[^&;]* libcurl4( |$)' <<<"$runtime" ||
  { echo "FAIL: services/users/Dockerfile's runtime stage does not install libcurl4"; exit 1; }
grep -Eq 'apt-get install[^&;]* python3-aiosmtpd( |$)' "$root/deploy/mail-sink/Dockerfile" ||
  { echo "FAIL: deploy/mail-sink/Dockerfile does not install python3-aiosmtpd"; exit 1; }
echo "ok: the service's runtime image has libcurl4, the mail sink's python3-aiosmtpd"
allowed_images='^(debian:bookworm|debian:bookworm-slim|postgres:15-bookworm|nginx:1\.2[2-9]-bookworm)$'
if [ -z "$(find /var/lib/apt/lists -mindepth 1 -maxdepth 1 ! -name lock ! -name partial -print -quit 2>/dev/null)" ]; then
  echo "SKIP: no apt package lists (run apt-get update) to check package names"; exit 77
fi
status=0
while read -r dockerfile; do
  stages=()  # FROM an earlier stage of the same file is fine
  while read -r image stage; do
    if [[ "$image" =~ $allowed_images ]]; then echo "ok: $dockerfile FROM $image"
    elif [[ " ${stages[*]} " == *" $image "* ]]; then echo "ok: $dockerfile FROM stage $image"
    else echo "FAIL: $dockerfile FROM $image is not a known bookworm image"; status=1; fi
    [ -n "$stage" ] && stages+=("$stage")
  done < <(awk 'toupper($1)=="FROM"{print $2, (toupper($3)=="AS" ? $4 : "")}' "$dockerfile")
  # Join continuation lines, then take the words after "apt-get install".
  packages=$(sed ':a;/\\$/{N;s/\\\n//;ba}' "$dockerfile" | grep -o 'apt-get install[^&;]*' |
             sed 's/apt-get install//' | tr ' ' '\n' | grep -v -e '^-' -e '^$' || true)
  # One apt-cache for the file's packages (one a package took minutes on a
  # loaded machine): those Debian has each print their own Package: line.
  [ -n "$packages" ] || continue
  # shellcheck disable=SC2086 # word splitting: one argument a package
  known=$(apt-cache show --no-all-versions $packages 2>/dev/null | sed -n 's/^Package: //p' || true)
  for package in $packages; do
    if grep -qxF "$package" <<<"$known"; then echo "ok: $dockerfile installs $package"
    else echo "FAIL: $dockerfile installs $package, which Debian does not have"; status=1; fi
  done
done < <(find "$root" -name Dockerfile -not -path '*/build/*' -not -path '*/node_modules/*')
exit $status
