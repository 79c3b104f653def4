# shellcheck shell=bash
# Sourced by .ci/run before the tests: starts a throwaway PostgreSQL server on loopback
# for the tests of the PostgreSQL state store (tests/state_postgres.rs), exports
# NICPLAN_TEST_POSTGRES, and stops the server and deletes its files when the sourcing
# shell exits (an EXIT trap; .ci/run has no other).
#
# - Installs Debian's `postgresql` only when no initdb/pg_ctl is found; otherwise it
#   takes a second or two.
# - initdb refuses to run as root, so as root the server runs as the `postgres` user the
#   package creates; as anyone else, as that user.
# - Trust authentication for everyone on 127.0.0.1 and the private socket: the server
#   holds nothing, listens nowhere else and lives as long as the run.
# - Does nothing when NICPLAN_TEST_POSTGRES is already set (sourced twice, or a
#   developer's own server), so it is idempotent.

nicplan_pg_log() {
	echo "postgres.sh: $*" >&2
}

# The folder with initdb and pg_ctl, newest version first.
nicplan_pg_bindir() {
	local dir
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
			echo "$dir"
			return 0
		fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	return 1
}

# Whether something listens on 127.0.0.1:$1.
nicplan_pg_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs a command as the server's user, from its folder (the caller's may be closed to
# that user).
nicplan_pg_as() {
	if [ "$NICPLAN_PG_USER" = "$(id -un)" ]; then
		(cd "$NICPLAN_PG_DIR" && "$@")
	else
		(cd "$NICPLAN_PG_DIR" && runuser -u "$NICPLAN_PG_USER" -- "$@")
	fi
}

nicplan_pg_stop() {
	if [ -n "${NICPLAN_PG_DIR:-}" ] && [ -d "$NICPLAN_PG_DIR" ]; then
		if [ -f "$NICPLAN_PG_DIR/data/postmaster.pid" ]; then
			nicplan_pg_as "$NICPLAN_PG_BIN/pg_ctl" -D "$NICPLAN_PG_DIR/data" -m immediate \
				-w -t 30 stop >/dev/null 2>&1 || true
		fi
		rm -rf "$NICPLAN_PG_DIR" || true
		nicplan_pg_log "PostgreSQL on port ${NICPLAN_PG_PORT:-?} stopped"
	fi
}

nicplan_pg_start() {
	if [ -n "${NICPLAN_TEST_POSTGRES:-}" ]; then
		nicplan_pg_log "NICPLAN_TEST_POSTGRES is already set; using that server"
		return 0
	fi
	local started=$SECONDS
	if ! NICPLAN_PG_BIN=$(nicplan_pg_bindir); then
		if [ "$(id -u)" != 0 ]; then
			nicplan_pg_log "no initdb/pg_ctl found and not root: install Debian's postgresql"
			return 1
		fi
		nicplan_pg_log "no PostgreSQL server found; installing Debian's postgresql"
		apt-get update -q >/dev/null || return 1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			postgresql >/dev/null || return 1
		NICPLAN_PG_BIN=$(nicplan_pg_bindir) || {
			nicplan_pg_log "postgresql installed but no initdb/pg_ctl found"
			return 1
		}
	fi
	local psql="$NICPLAN_PG_BIN/psql"
	[ -x "$psql" ] || psql=$(command -v psql) || {
		nicplan_pg_log "no psql found beside $NICPLAN_PG_BIN/pg_ctl"
		return 1
	}

	if [ "$(id -u)" = 0 ]; then
		NICPLAN_PG_USER=postgres
		if ! id -u postgres >/dev/null 2>&1; then
			useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres ||
				return 1
		fi
	else
		NICPLAN_PG_USER=$(id -un)
	fi

	NICPLAN_PG_PORT=55432
	while nicplan_pg_port_busy "$NICPLAN_PG_PORT"; do
		NICPLAN_PG_PORT=$((NICPLAN_PG_PORT + 1))
		if [ "$NICPLAN_PG_PORT" -gt 55531 ]; then
			nicplan_pg_log "no free port in 55432-55531"
			return 1
		fi
	done

	NICPLAN_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nicplan-pg.XXXXXX") || return 1
	trap nicplan_pg_stop EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir "$NICPLAN_PG_DIR/sock" || return 1
	chown -R "$NICPLAN_PG_USER" "$NICPLAN_PG_DIR" || return 1

	if ! nicplan_pg_as "$NICPLAN_PG_BIN/initdb" -D "$NICPLAN_PG_DIR/data" -U postgres \
		-A trust -E UTF8 --locale=C --no-sync >"$NICPLAN_PG_DIR/initdb.log" 2>&1; then
		nicplan_pg_log "initdb failed:"
		cat "$NICPLAN_PG_DIR/initdb.log" >&2
		return 1
	fi
	# Durability is worthless here and fsync is slow. A port that looked free can be
	# taken by the time the server binds it (a socket of another program's connection
	# holds it): then the next port is tried.
	local options attempt
	for attempt in 1 2 3 4 5 6 7 8; do
		options="-c listen_addresses=127.0.0.1 -p $NICPLAN_PG_PORT"
		options+=" -k $NICPLAN_PG_DIR/sock -c fsync=off -c synchronous_commit=off"
		options+=" -c full_page_writes=off"
		if nicplan_pg_as "$NICPLAN_PG_BIN/pg_ctl" -D "$NICPLAN_PG_DIR/data" \
			-l "$NICPLAN_PG_DIR/server.log" -o "$options" -w -t 60 start >/dev/null; then
			break
		fi
		if [ "$attempt" -lt 8 ] && grep -q "Address already in use" "$NICPLAN_PG_DIR/server.log"; then
			nicplan_pg_log "port $NICPLAN_PG_PORT was taken; trying the next one"
			: >"$NICPLAN_PG_DIR/server.log"
			NICPLAN_PG_PORT=$((NICPLAN_PG_PORT + 1))
			continue
		fi
		nicplan_pg_log "the server did not start within 60s:"
		cat "$NICPLAN_PG_DIR/server.log" >&2
		return 1
	done
	if ! "$psql" -X -q -h 127.0.0.1 -p "$NICPLAN_PG_PORT" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 \
		-c "CREATE ROLE nicplan LOGIN" \
		-c "CREATE DATABASE nicplan_test OWNER nicplan" >/dev/null; then
		nicplan_pg_log "could not create the test role and database"
		return 1
	fi
	export NICPLAN_TEST_POSTGRES="postgres://nicplan@127.0.0.1:$NICPLAN_PG_PORT/nicplan_test"
	local version
	version=$("$NICPLAN_PG_BIN/pg_ctl" --version)
	version=${version#pg_ctl }
	nicplan_pg_log "started PostgreSQL ${version#(PostgreSQL) } on 127.0.0.1:$NICPLAN_PG_PORT in $((SECONDS - started))s" \
		"(data in $NICPLAN_PG_DIR); NICPLAN_TEST_POSTGRES=$NICPLAN_TEST_POSTGRES"
}

nicplan_pg_start || return 1
