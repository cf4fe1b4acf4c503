# PostgreSQL 15 from Debian 12, for docker/cluster.yaml: the database a
# cluster of futured nodes shares. Its entrypoint makes the password on the
# first start (a random one, in a file on the volume the nodes mount), so
# that no password is written in the compose file or on a command line.
#   podman build --pull=never --format docker -t futured-postgres -f docker/postgres.Dockerfile docker
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/futured-postgres
EXPOSE 5432
HEALTHCHECK --interval=2s --timeout=5s --start-period=5s --retries=30 \
  CMD ["test", "-e", "/run/futured-db/ready"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "/usr/local/bin/futured-postgres"]
