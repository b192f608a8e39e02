# shellcheck shell=sh disable=SC2154 # bench_name, root, build: set by the sourcing script
# Shared by bench/api_wrk.sh and bench/api_abuse.sh (sourced, POSIX sh):
# the AWS double and ebssh-api started on loopback, the lookup checked, and
# one wrk run read into a row. The sourcing script sets bench_name (for
# messages), root and build, and may set extra_pids (killed on exit).
#
#   bench_start_double           aws_url, double_pid
#   bench_start_api ENV... -- ARGS...
#                                api_url, api_hostport, api_pid: ebssh-api
#                                with the double's session key and nothing of
#                                the user's AWS setup; ENV (NAME=VALUE words)
#                                added to its environment, ARGS to its flags
#   bench_check_lookup ENV_NAME  the lookup answers the double's three addresses
#   bench_wrk_row NAME FILE      "name rps p50 p90 p99 non2xx errors" of wrk's
#                                --latency output in FILE
PY=/usr/bin/python3
tmp=$(mktemp -d)
double_pid=""
api_pid=""
extra_pids=""

die() {
	echo "$bench_name: $*" >&2
	exit 1
}

bench_cleanup() {
	for pid in $extra_pids $api_pid $double_pid; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

wait_for() { # wait_for FILE PATTERN: until FILE has a line matching PATTERN (60 s)
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1200 ] || return 1
		sleep 0.05
	done
}

command -v wrk >/dev/null 2>&1 || die "wrk is missing (make deps installs it)"
[ -x "$build/ebssh-api" ] || die "$build/ebssh-api is missing (make)"

bench_start_double() {
	"$PY" "$root/tests/doubles/aws_double.py" --port 0 >"$tmp/double.out" 2>"$tmp/double.err" &
	double_pid=$!
	wait_for "$tmp/double.out" '^PORT ' || die "the AWS double did not start: $(cat "$tmp/double.err")"
	aws_url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$tmp/double.out")"
}

bench_start_api() {
	api_env=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		api_env="$api_env $1"
		shift
	done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086 # api_env: NAME=VALUE words without blanks
	env -i PATH=/usr/bin:/bin HOME="$tmp" \
		AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE \
		AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY \
		AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDEXAMPLEtoken+with/slashes+and==' \
		AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$aws_url" AWS_ENDPOINT_URL_EC2="$aws_url" \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
		$api_env "$build/ebssh-api" --listen 127.0.0.1:0 "$@" 2>"$tmp/api.log" &
	api_pid=$!
	wait_for "$tmp/api.log" 'listening on' || die "ebssh-api did not start: $(cat "$tmp/api.log")"
	api_hostport=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$tmp/api.log" | head -n 1)
	api_url="http://$api_hostport"
}

bench_stop_api() {
	kill -TERM "$api_pid"
	wait "$api_pid" 2>/dev/null || true
	api_pid=""
}

bench_check_lookup() {
	"$PY" - "$api_url/eb/$1/ip" <<'PYEOF' || die "ebssh-api did not answer the lookup"
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
body = opener.open(sys.argv[1], timeout=10).read().decode()
if body != "54.210.1.12\n54.210.1.11\n54.210.1.13\n":
    sys.exit("ebssh-api answered %r" % body)
PYEOF
}

bench_wrk_row() {
	awk -v name="$1" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000
			if (v ~ /s$/) return v * 1000
			return v
		}
		/^ +50%/ { p50 = ms($2) }
		/^ +90%/ { p90 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { err = $0; sub(/.*Socket errors: /, "", err); gsub(/ /, "", err) }
		END {
			printf "%s %s %.2f %.2f %.2f %d %s %d\n", name, rps, p50, p90, p99, bad + 0,
			       (err == "" ? "none" : err), n
		}' "$2"
}
