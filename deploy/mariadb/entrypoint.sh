#!/bin/sh
# couponq-mariadb -- entrypoint of deploy/mariadb. On an empty data directory:
# mariadb-install-db, then (networking off) set the root password for
# localhost and 127.0.0.1, create $MYSQL_DATABASE and apply
# /docker-entrypoint-initdb.d/*.sql in name order, recording each in
# schema_migrations as scripts/stack does. Then runs mariadbd in the
# foreground; extra arguments go to it.
#   MYSQL_ROOT_PASSWORD (required)  MYSQL_DATABASE (default couponq)
#   MYSQL_PORT (default 3306)       MYSQL_BIND (default 127.0.0.1)
set -eu
: "${MYSQL_ROOT_PASSWORD:?MYSQL_ROOT_PASSWORD must be set}"
DB=${MYSQL_DATABASE:-couponq}
DATA=/var/lib/mysql
SOCK=/run/mysqld/mysqld.sock
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld "$DATA"

# The marker is written last: a data directory without it is a first start
# that did not finish, and holds nothing but what this script made.
if [ ! -f "$DATA/.couponq-initialised" ]; then
  echo "couponq-mariadb: initialising $DATA"
  find "$DATA" -mindepth 1 -delete
  mariadb-install-db --user=mysql --datadir="$DATA" --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --datadir="$DATA" --skip-networking --socket="$SOCK" &
  pid=$!
  i=0
  until mariadb -uroot --socket="$SOCK" -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 120 ] || { echo "couponq-mariadb: server did not start" >&2; exit 1; }
    sleep 0.5
  done
  sql() { mariadb -uroot -p"$MYSQL_ROOT_PASSWORD" --socket="$SOCK" "$@"; }
  # install-db made root@localhost and root@<hostname> without a password;
  # TCP logins come from 127.0.0.1 (--skip-name-resolve).
  mariadb -uroot --socket="$SOCK" <<SQL
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
DROP USER IF EXISTS 'root'@'$(cat /proc/sys/kernel/hostname)';
CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4;
FLUSH PRIVILEGES;
SQL
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    v=$(basename "$f" .sql)
    echo "couponq-mariadb: applying $v"
    sql "$DB" <"$f"
    sql "$DB" -e "INSERT IGNORE INTO schema_migrations(version) VALUES ('$v')" 2>/dev/null || true
  done
  mariadb-admin -uroot -p"$MYSQL_ROOT_PASSWORD" --socket="$SOCK" shutdown
  wait "$pid" || true
  touch "$DATA/.couponq-initialised"
  echo "couponq-mariadb: initialised"
fi
exec mariadbd --user=mysql --datadir="$DATA" --socket="$SOCK" \
  --bind-address="${MYSQL_BIND:-127.0.0.1}" --port="${MYSQL_PORT:-3306}" \
  --skip-name-resolve --max-connections=1000 --innodb-flush-log-at-trx-commit=1 "$@"
