#!/bin/sh
# The database of docker/cluster.yaml (runs as root, PID 1). On the first
# start: a random password in /run/futured-db/password (owned by futured's
# uid 10001 in the futured image, mode 0600: --cluster_password_file
# refuses a file others may read), initdb with user `futured` and that
# password, a database `futured`, connections from the compose network
# with scram-sha-256 (the unix socket, inside this container only, trusts
# its users). Every start: PostgreSQL runs, /run/futured-db/ready
# exists while it accepts connections, and SIGTERM stops it (fast).
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
secrets=/run/futured-db
password=$secrets/password
futured_uid=10001

rm -f "$secrets/ready"
if [ ! -s "$password" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$password.new")
  chown "$futured_uid:$futured_uid" "$password.new"
  mv "$password.new" "$password"
fi
if [ ! -s "$data/PG_VERSION" ]; then
  install -d -o postgres -g postgres -m 0700 "$data"
  pwfile=$(mktemp)
  cp "$password" "$pwfile"
  chown postgres "$pwfile"
  su postgres -s /bin/sh -c "$bin/initdb -D $data -U futured --pwfile=$pwfile \
    --auth-local=trust --auth-host=scram-sha-256" >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$data/postgresql.conf"
  echo "host all futured all scram-sha-256" >> "$data/pg_hba.conf"
fi
# Without -l, the server logs to this container's output.
su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -w start"
stop() {
  rm -f "$secrets/ready"
  su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -m fast -w stop"
  exit 0
}
trap stop TERM INT
if ! su postgres -s /bin/sh -c "psql -U futured -d postgres -tAc \
    \"SELECT 1 FROM pg_database WHERE datname = 'futured'\"" | grep -q 1; then
  su postgres -s /bin/sh -c "psql -U futured -d postgres -qc 'CREATE DATABASE futured'"
fi
touch "$secrets/ready"
echo "futured-postgres: PostgreSQL 15 ready: database futured, user futured"
while :; do
  sleep 3600 &
  wait $! || true
done
