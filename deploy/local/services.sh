#!/usr/bin/env bash
# Local test servers for assay: MariaDB, Redis and RabbitMQ on 127.0.0.1, and Chromium.
#
#   services.sh up      [names ...]   install if missing, start, wait until ready
#   services.sh down    [names ...]   stop what this script started (only that)
#   services.sh restart [names ...]   down + up of servers this script started
#   services.sh status  [names ...]   state of each server (exit 3 if one is down)
#   services.sh env     [VARIABLE]    the env lines the tests read (or one value)
#
# Names: mariadb, redis, rabbitmq, chromium; none means all four. Chromium is a browser, not a
# server: the HTML report's test drives it headless; up only installs it when missing.
# A server whose port is already taken is used as it is and never stopped. What this script
# starts keeps its data, socket, pid and log files under <repo>/.data/<server>/ and is
# recorded by <repo>/.data/<server>/started-by-assay.
# Needs root + apt-get (Debian/Ubuntu) to install missing packages; starts without systemd.
set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
DATA="$ROOT/.data"

ALL=(mariadb redis rabbitmq)
declare -A PORT=([mariadb]=3306 [redis]=6379 [rabbitmq]=5672)
declare -A PKG=([mariadb]=mariadb-server [redis]=redis-server [rabbitmq]=rabbitmq-server)

MYSQL_DSN_DEFAULT='assay:assay@tcp(127.0.0.1:3306)/assay_test?parseTime=true&multiStatements=true'
REDIS_URL_DEFAULT='redis://127.0.0.1:6379/0'
AMQP_URL_DEFAULT='amqp://guest:guest@127.0.0.1:5672/'

RABBITMQ_TIMEOUT="${ASSAY_RABBITMQ_TIMEOUT:-90}"
MARIADB_TIMEOUT="${ASSAY_MARIADB_TIMEOUT:-60}"
REDIS_TIMEOUT="${ASSAY_REDIS_TIMEOUT:-20}"

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# ---------------------------------------------------------------- helpers

port_open() { timeout 2 bash -c ": >/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# A live process (zombies, which nobody may reap here, do not count).
pid_alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[ "${stat%% *}" != Z ]
}

# The program name a server's pid must have (guards against a reused pid from an old pid file).
declare -A COMM=([mariadb]=mariadbd [redis]=redis-server [rabbitmq]=beam.smp)
is_server_pid() {
	local s=$1 pid=$2
	pid_alive "$pid" || return 1
	[ -r "/proc/$pid/comm" ] || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${COMM[$s]}" ]
}

read_pid() { if [ -s "$1" ]; then tr -dc '0-9' <"$1"; fi; }

dir_of() { printf '%s/%s' "$DATA" "$1"; }
marker_of() { printf '%s/started-by-assay' "$(dir_of "$1")"; }

pidfile_of() {
	case $1 in
	mariadb) printf '%s/mariadbd.pid' "$(dir_of mariadb)" ;;
	redis) printf '%s/redis.pid' "$(dir_of redis)" ;;
	rabbitmq) printf '%s/rabbitmq.pid' "$(dir_of rabbitmq)" ;;
	esac
}

# The pid of the server this script started, if it is still alive.
our_pid() {
	local s=$1 pid
	[ -f "$(marker_of "$s")" ] || return 1
	pid="$(read_pid "$(pidfile_of "$s")")"
	[ -z "$pid" ] && pid="$(sed -n 's/^pid=//p' "$(marker_of "$s")" 2>/dev/null || true)"
	is_server_pid "$s" "$pid" || return 1
	printf '%s' "$pid"
}

mark_started() {
	local s=$1 pid=${2:-}
	printf 'started=%s\npid=%s\nport=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$pid" "${PORT[$s]}" >"$(marker_of "$s")"
}

# MariaDB's unix socket: under .data unless the path is too long for sun_path.
mariadb_socket() {
	local sock
	sock="$(dir_of mariadb)/mariadbd.sock"
	if [ "${#sock}" -gt 100 ]; then
		sock="/tmp/assay-mariadb-$(printf '%s' "$ROOT" | md5sum | cut -c1-12).sock"
	fi
	printf '%s' "$sock"
}

# RabbitMQ: call the real scripts, not Debian's /usr/sbin wrappers (they su to the rabbitmq user,
# whose HOME holds a different Erlang cookie and who cannot write under .data).
rmq() {
	local cmd=$1
	shift
	local bin=/usr/lib/rabbitmq/bin/$cmd
	[ -x "$bin" ] || bin="$(command -v "$cmd")"
	local d
	d="$(dir_of rabbitmq)"
	mkdir -p "$d/home"
	# A private HOME keeps the Erlang cookie (.erlang.cookie) shared by server and CLI, for root or not.
	HOME="$d/home" \
		RABBITMQ_NODENAME=rabbit@localhost \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT=5672 \
		ERL_EPMD_ADDRESS=127.0.0.1 \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
		RABBITMQ_MNESIA_BASE="$d/mnesia" \
		RABBITMQ_LOG_BASE="$d/log" \
		RABBITMQ_PID_FILE="$d/rabbitmq.pid" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
		ERL_CRASH_DUMP="$d/log/erl_crash.dump" \
		"$bin" "$@"
}

have_binaries() {
	case $1 in
	mariadb) command -v mariadbd && command -v mariadb-install-db && command -v mariadb-admin && command -v mariadb ;;
	redis) command -v redis-server && command -v redis-cli ;;
	rabbitmq) { [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server; } && command -v epmd ;;
	esac >/dev/null 2>&1
}

# Install the packages of the servers given whose binaries are missing (one apt-get update, once).
ensure_installed() {
	local s missing=()
	for s in "$@"; do
		have_binaries "$s" || missing+=("${PKG[$s]}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		say "missing packages: ${missing[*]}"
		say "install them, then run this again:"
		say "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
		local m
		for m in "${missing[@]}"; do
			case $m in
			mariadb-server) say "  elsewhere: MariaDB >= 10.6 with mariadbd, mariadb-install-db, mariadb-admin, mariadb on PATH" ;;
			redis-server) say "  elsewhere: Redis >= 7 with redis-server, redis-cli on PATH" ;;
			rabbitmq-server) say "  elsewhere: RabbitMQ >= 3.10 and Erlang with rabbitmq-server, rabbitmqctl, epmd on PATH" ;;
			esac
		done
		say "  or point the tests at running servers with ASSAY_TEST_MYSQL_DSN, ASSAY_TEST_REDIS_URL, ASSAY_TEST_AMQP_URL"
		exit 1
	fi

	apt_install "${missing[@]}"
	for s in "$@"; do
		have_binaries "$s" || die "${PKG[$s]} installed but its programs are still missing"
	done
}

can_apt() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

# apt_install PACKAGES...: apt-get update, then install without recommends (root only).
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
	mkdir -p "$DATA"
	say "installing $* (apt-get update + install)"
	local i
	for i in 1 2 3; do
		"${apt[@]}" update -qq && break
		[ "$i" -eq 3 ] && die "apt-get update failed"
		sleep 5
	done
	if ! "${apt[@]}" install -y -qq --no-install-recommends "$@" >"$DATA/apt-install.log" 2>&1; then
		say "apt-get install failed; trying 'dpkg --configure -a' and once more"
		dpkg --configure -a >>"$DATA/apt-install.log" 2>&1 || true
		"${apt[@]}" install -y -qq --no-install-recommends "$@" >>"$DATA/apt-install.log" 2>&1 ||
			{ tail -n 30 "$DATA/apt-install.log" >&2; die "apt-get install $* failed (log: $DATA/apt-install.log)"; }
	fi
}

# ---------------------------------------------------------------- Chromium

# Where Debian's chromium package puts the program: what env reports before up has installed
# it (task evaluates the test env before its services:up step runs).
CHROMIUM_DEBIAN=/usr/bin/chromium

# chromium_path prints the browser the tests drive: ASSAY_TEST_CHROMIUM, else one on PATH.
chromium_path() {
	if [ -n "${ASSAY_TEST_CHROMIUM:-}" ]; then
		printf '%s' "$ASSAY_TEST_CHROMIUM"
		return 0
	fi
	local c p
	for c in chromium chromium-browser google-chrome-stable google-chrome; do
		if p="$(command -v "$c" 2>/dev/null)"; then
			printf '%s' "$p"
			return 0
		fi
	done
	return 1
}

# A missing browser only skips one test locally (and fails it under CI), so without root and
# apt-get this warns instead of failing the other servers' start.
ensure_chromium() {
	chromium_path >/dev/null && return 0
	if ! can_apt; then
		say "chromium: not installed: the HTML report's browser test will skip (and fail under CI)"
		say "  Debian/Ubuntu:  sudo apt-get install -y --no-install-recommends chromium"
		say "  or set ASSAY_TEST_CHROMIUM to a Chromium or Chrome program"
		return 0
	fi
	local t0=$SECONDS
	apt_install chromium
	chromium_path >/dev/null || die "chromium installed but no chromium program on PATH"
	say "chromium: installed $(chromium_path) ($((SECONDS - t0))s)"
}

chromium_status() {
	local p
	if p="$(chromium_path)" && [ -x "$p" ]; then
		printf '%-9s %-9s %s\n' chromium installed "$p"
	else
		printf '%-9s %-9s %s\n' chromium missing "not installed (up installs it with root and apt-get)"
	fi
}

# wait_for NAME TIMEOUT_SECONDS PID_OR_EMPTY LOGFILE COMMAND...: retry COMMAND every 0.2 s.
wait_for() {
	local name=$1 timeout=$2 pid=$3 logf=$4
	shift 4
	local deadline=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		if [ -n "$pid" ] && ! pid_alive "$pid"; then
			say "$name exited while starting; last lines of $logf:"
			tail -n 30 "$logf" >&2 2>/dev/null || true
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "$name not ready after ${timeout}s; last lines of $logf:"
			tail -n 30 "$logf" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.2
	done
}

# wait_gone PID TIMEOUT: wait for a process to exit; SIGKILL it at the deadline.
wait_gone() {
	local pid=$1 timeout=$2
	local deadline=$((SECONDS + timeout))
	while pid_alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "pid $pid still alive after ${timeout}s: killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
			return 0
		fi
		sleep 0.2
	done
}

wait_port_closed() {
	local port=$1 deadline=$((SECONDS + $2))
	while port_open "$port"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- MariaDB

mariadb_ping() { mariadb-admin --no-defaults --socket="$(mariadb_socket)" -uroot --connect-timeout=2 ping; }

mariadb_start() {
	local d sock pidf logf user pid
	d="$(dir_of mariadb)"
	sock="$(mariadb_socket)"
	pidf="$(pidfile_of mariadb)"
	logf="$d/mariadbd.log"
	user="$(id -un)"
	mkdir -p "$d"
	if [ ! -f "$d/initialized" ]; then
		rm -rf "$d/data"
		say "mariadb: initializing $d/data"
		mariadb-install-db --no-defaults --user="$user" --datadir="$d/data" \
			--auth-root-authentication-method=normal --skip-test-db >"$d/install-db.log" 2>&1 9>&- ||
			{ tail -n 30 "$d/install-db.log" >&2; die "mariadb-install-db failed"; }
		touch "$d/initialized"
	fi
	rm -f "$pidf" "$sock"
	setsid mariadbd --no-defaults --user="$user" --datadir="$d/data" --socket="$sock" \
		--port=3306 --bind-address=127.0.0.1 --skip-name-resolve --max-connections=500 \
		--pid-file="$pidf" --log-error="$logf" </dev/null >>"$logf" 2>&1 9>&- &
	pid=$!
	mark_started mariadb "$pid"
	wait_for mariadb "$MARIADB_TIMEOUT" "$pid" "$logf" mariadb_ping
	mariadb_setup
}

mariadb_setup() {
	local u
	local sql="CREATE DATABASE IF NOT EXISTS assay_test;"
	for u in "'assay'@'127.0.0.1'" "'assay'@'localhost'"; do
		sql+=" CREATE USER IF NOT EXISTS $u IDENTIFIED BY 'assay';"
		sql+=" ALTER USER $u IDENTIFIED BY 'assay';"
		sql+=" GRANT ALL PRIVILEGES ON *.* TO $u WITH GRANT OPTION;"
	done
	mariadb --no-defaults --socket="$(mariadb_socket)" -uroot -e "$sql" ||
		die "mariadb: could not create database assay_test and user assay"
}

mariadb_stop() {
	local pid=$1
	mariadb-admin --no-defaults --socket="$(mariadb_socket)" -uroot shutdown >/dev/null 2>&1 ||
		kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 60
}

# Check that an external MariaDB/MySQL accepts the test user (warning only).
mariadb_check_external() {
	command -v mariadb >/dev/null 2>&1 || return 0
	if ! mariadb --no-defaults -h127.0.0.1 -P3306 -uassay -passay --connect-timeout=3 -e 'SELECT 1' assay_test >/dev/null 2>&1; then
		say "mariadb: warning: the server on 127.0.0.1:3306 does not accept assay:assay on database assay_test"
	fi
}

# ---------------------------------------------------------------- Redis

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

redis_start() {
	local d pidf logf pid
	d="$(dir_of redis)"
	pidf="$(pidfile_of redis)"
	logf="$d/redis.log"
	mkdir -p "$d"
	rm -f "$pidf"
	# shellcheck disable=SC2094 # redis only writes its start-up errors to stderr, then logs to $logf itself
	setsid redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --dir "$d" \
		--pidfile "$pidf" --logfile "$logf" --save "" --appendonly no </dev/null >>"$logf" 2>&1 9>&- ||
		{ tail -n 20 "$logf" >&2; die "redis-server failed to start"; }
	mark_started redis
	wait_for redis "$REDIS_TIMEOUT" "" "$logf" redis_ping
	pid="$(read_pid "$pidf")"
	mark_started redis "$pid"
}

redis_stop() {
	local pid=$1
	redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 30
}

# ---------------------------------------------------------------- RabbitMQ

rabbitmq_ready() { rmq rabbitmqctl -n rabbit@localhost -q await_startup --timeout 5; }

rabbitmq_start() {
	local d pidf logf pid
	d="$(dir_of rabbitmq)"
	pidf="$(pidfile_of rabbitmq)"
	logf="$d/log/startup.log"
	mkdir -p "$d/mnesia" "$d/log" "$d/home"
	[ -f "$d/enabled_plugins" ] || echo '[].' >"$d/enabled_plugins"
	rm -f "$pidf"
	mark_started rabbitmq
	# -detached forks, calls setsid and points stdio at /dev/null itself.
	rmq rabbitmq-server -detached </dev/null >>"$logf" 2>&1 9>&- ||
		{ tail -n 20 "$logf" >&2; die "rabbitmq-server failed to start"; }
	local deadline=$((SECONDS + RABBITMQ_TIMEOUT))
	# await_startup fails at once until the node has registered with epmd: retry it.
	until rabbitmq_ready >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "rabbitmq not ready after ${RABBITMQ_TIMEOUT}s; last lines of $d/log:"
			tail -n 30 "$logf" "$d"/log/rabbit@localhost.log >&2 2>/dev/null || true
			return 1
		fi
		pid="$(read_pid "$pidf")"
		if [ -n "$pid" ] && ! pid_alive "$pid"; then
			say "rabbitmq exited while starting; last lines of $d/log:"
			tail -n 30 "$logf" "$d"/log/rabbit@localhost.log >&2 2>/dev/null || true
			return 1
		fi
		sleep 1
	done
	wait_for rabbitmq 30 "" "$logf" port_open 5672
	mark_started rabbitmq "$(read_pid "$pidf")"
}

rabbitmq_stop() {
	local pid=$1
	rmq rabbitmqctl -n rabbit@localhost -q stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 60
	epmd -kill >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- commands

server_up() {
	local s=$1 pid
	mkdir -p "$(dir_of "$s")"
	if pid="$(our_pid "$s")"; then
		say "$s: already running (started by assay, pid $pid)"
		case $s in
		mariadb) wait_for mariadb "$MARIADB_TIMEOUT" "$pid" "$(dir_of mariadb)/mariadbd.log" mariadb_ping && mariadb_setup ;;
		redis) wait_for redis "$REDIS_TIMEOUT" "$pid" "$(dir_of redis)/redis.log" redis_ping ;;
		rabbitmq) wait_for rabbitmq "$RABBITMQ_TIMEOUT" "$pid" "$(dir_of rabbitmq)/log/startup.log" rabbitmq_ready ;;
		esac
		return
	fi
	if port_open "${PORT[$s]}"; then
		say "$s: something already listens on 127.0.0.1:${PORT[$s]}: using it (not managed by this script)"
		[ "$s" = mariadb ] && mariadb_check_external
		return 0
	fi
	if [ -f "$(marker_of "$s")" ]; then
		say "$s: the server this script started earlier is gone: starting it again"
		rm -f "$(marker_of "$s")"
	fi
	local t0=$SECONDS
	say "$s: starting on 127.0.0.1:${PORT[$s]}"
	"${s}_start"
	say "$s: ready (pid $(our_pid "$s" || echo '?'), $((SECONDS - t0))s)"
}

server_down() {
	local s=$1 pid
	if pid="$(our_pid "$s")"; then
		say "$s: stopping (pid $pid)"
		"${s}_stop" "$pid"
		rm -f "$(marker_of "$s")"
		wait_port_closed "${PORT[$s]}" 20 || say "$s: warning: port ${PORT[$s]} still open after stop"
		say "$s: stopped"
	elif [ -f "$(marker_of "$s")" ]; then
		rm -f "$(marker_of "$s")"
		[ "$s" = rabbitmq ] && { epmd -kill >/dev/null 2>&1 || true; }
		say "$s: was not running any more (stale marker removed)"
	elif port_open "${PORT[$s]}"; then
		say "$s: running but not started by this script: left alone"
	else
		say "$s: not running"
	fi
}

row() { printf '%-9s %-9s 127.0.0.1:%-6s %s\n' "$1" "$2" "${PORT[$1]}" "$3" | sed 's/ *$//'; }

server_status() {
	local s=$1 pid
	if pid="$(our_pid "$s")"; then
		if port_open "${PORT[$s]}"; then
			row "$s" running "started by assay (pid $pid, files in $(dir_of "$s"))"
		else
			row "$s" starting "started by assay (pid $pid), port not open yet"
			return 1
		fi
	elif port_open "${PORT[$s]}"; then
		row "$s" running "external (not managed by this script)"
	else
		local note=""
		[ -f "$(marker_of "$s")" ] && note="stale marker: started by assay, since gone; "
		have_binaries "$s" || note+="${PKG[$s]} not installed"
		row "$s" stopped "${note%; }"
		return 1
	fi
}

env_lines() {
	printf 'ASSAY_TEST_MYSQL_DSN=%s\n' "${ASSAY_TEST_MYSQL_DSN:-$MYSQL_DSN_DEFAULT}"
	printf 'ASSAY_TEST_REDIS_URL=%s\n' "${ASSAY_TEST_REDIS_URL:-$REDIS_URL_DEFAULT}"
	printf 'ASSAY_TEST_AMQP_URL=%s\n' "${ASSAY_TEST_AMQP_URL:-$AMQP_URL_DEFAULT}"
	printf 'ASSAY_TEST_CHROMIUM=%s\n' "$(chromium_path || { can_apt && printf '%s' "$CHROMIUM_DEBIAN"; } || true)"
}

# .data/test.env: the same lines with the values in single quotes, so that both a shell
# (set -a; . .data/test.env; set +a) and dotenv readers (task's dotenv:) take them.
write_env_file() {
	mkdir -p "$DATA"
	env_lines | sed "s/'/'\\\\''/g; s/=/='/; s/\$/'/" >"$DATA/test.env.tmp" && mv -f "$DATA/test.env.tmp" "$DATA/test.env"
}

# Serialises up/down/restart. Fd 9 must not leak into the servers (they would hold the lock
# for ever): every command that starts one closes it with 9>&-.
lock() {
	mkdir -p "$DATA"
	exec 9>"$DATA/services.lock"
	if command -v flock >/dev/null 2>&1; then
		flock -w 900 9 || die "another services.sh holds $DATA/services.lock"
	fi
}

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift

	if [ "$cmd" = env ]; then
		if [ $# -eq 0 ]; then
			env_lines
		else
			env_lines | sed -n "s/^$1=//p"
		fi
		return 0
	fi

	# chromium is not a server: it is taken out of the names and handled on its own.
	local names=() s chromium=0
	[ $# -eq 0 ] && chromium=1
	for s in "$@"; do
		if [ "$s" = chromium ]; then chromium=1; else names+=("$s"); fi
	done
	[ $# -eq 0 ] && names=("${ALL[@]}")
	for s in "${names[@]}"; do
		[ -n "${PORT[$s]:-}" ] || { say "unknown server '$s' (want: ${ALL[*]} chromium)"; usage; }
	done

	case $cmd in
	up)
		lock
		local need=()
		for s in "${names[@]}"; do
			our_pid "$s" >/dev/null || port_open "${PORT[$s]}" || need+=("$s")
		done
		[ ${#need[@]} -gt 0 ] && ensure_installed "${need[@]}"
		for s in "${names[@]}"; do server_up "$s"; done
		if [ "$chromium" -eq 1 ]; then ensure_chromium; fi
		write_env_file
		env_lines
		;;
	down)
		lock
		for s in "${names[@]}"; do server_down "$s"; done
		;;
	restart)
		lock
		for s in "${names[@]}"; do
			if ! our_pid "$s" >/dev/null && port_open "${PORT[$s]}"; then
				die "$s: the server on port ${PORT[$s]} was not started by this script: cannot restart it"
			fi
		done
		for s in "${names[@]}"; do server_down "$s"; done
		ensure_installed "${names[@]}"
		for s in "${names[@]}"; do server_up "$s"; done
		write_env_file
		;;
	status)
		local rc=0
		for s in "${names[@]}"; do server_status "$s" || rc=3; done
		if [ "$chromium" -eq 1 ]; then chromium_status; fi
		return $rc
		;;
	-h | --help | help) usage ;;
	*)
		say "unknown command '$cmd'"
		usage
		;;
	esac
}

main "$@"
