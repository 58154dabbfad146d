#!/usr/bin/env bash
# Starts Debian's PostgreSQL for Nimbus on this machine: installs it when missing, lets local
# connections from 127.0.0.1 and ::1 in without a password, starts the cluster and creates the
# database named by $1 (default "test"). Run as root. Afterwards
#   postgres://postgres@127.0.0.1:5432/<database>
# works. For a shared or production server use a password instead of trust (see the README).
set -euo pipefail
database="${1:-test}"
export DEBIAN_FRONTEND=noninteractive

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql
fi
version="$(ls /etc/postgresql | sort -V | tail -n 1)"
if [ ! -d "/etc/postgresql/$version/main" ]; then
  pg_createcluster "$version" main
fi
hba="/etc/postgresql/$version/main/pg_hba.conf"
# Trust on loopback goes first: pg_hba.conf is read top-down and the first match wins.
if ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
  { echo 'host all postgres 127.0.0.1/32 trust'; echo 'host all postgres ::1/128 trust'; cat "$hba"; } >"$hba.new"
  chown --reference="$hba" "$hba.new"; chmod --reference="$hba" "$hba.new"
  mv "$hba.new" "$hba"
  if pg_isready -h 127.0.0.1 -p 5432 -q; then pg_ctlcluster "$version" main reload; fi
fi
# The test suite opens many connections at once (each test file its own pool).
conf="/etc/postgresql/$version/main/conf.d/nimbus.conf"
if [ ! -f "$conf" ]; then
  echo 'max_connections = 300' >"$conf"
  if pg_isready -h 127.0.0.1 -p 5432 -q; then pg_ctlcluster "$version" main restart; fi
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE \"$database\""
fi
echo "PostgreSQL ready: postgres://postgres@127.0.0.1:5432/$database"
