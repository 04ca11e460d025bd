#!/usr/bin/env bash
# Produce a real server log for the client recordings: a scratch PostgreSQL cluster (Debian's
# postgresql package) on a Unix socket only (no TCP), a short pgbench run with every statement
# logged, and a few statements that fail the way applications' do (unique violation, missing
# relation, division by zero, syntax error, a connection to a database that does not exist,
# COMMIT outside a transaction). Prints the log's path. Usage: make_pg_log.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make_pg_log.sh OUT_DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/pglog.XXXXXX)
chown postgres "$work"
run() { su postgres -s /bin/bash -c "$*"; }
run "$bin/initdb -D $work/data -A trust -U postgres >/dev/null"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = 54329
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 0
log_connections = on
log_disconnections = on
log_checkpoints = on
log_lock_waits = on
log_temp_files = 0
log_autovacuum_min_duration = 0
CONF
run "$bin/pg_ctl -D $work/data -l $work/postgresql.log -w start >/dev/null"
trap 'run "$bin/pg_ctl -D $work/data -m fast -w stop >/dev/null" || true' EXIT
psql() { run "$bin/psql -h $work -p 54329 -U postgres -X -q $*"; }
run "$bin/pgbench -h $work -p 54329 -U postgres -i -s 1 postgres >/dev/null 2>&1"
run "$bin/pgbench -h $work -p 54329 -U postgres -c 2 -t 30 postgres >/dev/null 2>&1"
psql -d postgres >/dev/null 2>&1 <<'SQL' || true
CREATE TABLE accounts_audit (id int PRIMARY KEY, aid int, note text);
INSERT INTO accounts_audit VALUES (1, 1, 'opened');
INSERT INTO accounts_audit VALUES (1, 2, 'duplicate');
SELECT abalance / (bid - 1) FROM pgbench_accounts WHERE aid = 7;
SELECT * FROM pgbench_account WHERE aid = 3;
SELEC aid FROM pgbench_accounts LIMIT 1;
COMMIT;
UPDATE pgbench_accounts SET abalance = abalance + 10 WHERE aid = 42;
CHECKPOINT;
SQL
run "$bin/psql -h $work -p 54329 -U postgres -X -d billing -c 'select 1'" >/dev/null 2>&1 || true
run "$bin/pgbench -h $work -p 54329 -U postgres -c 2 -t 25 postgres >/dev/null 2>&1"
psql -d postgres -c "'VACUUM ANALYZE pgbench_history'" >/dev/null 2>&1 || true
mkdir -p "$out"
cp "$work/postgresql.log" "$out/postgresql.log"
echo "$out/postgresql.log"
