#!/bin/sh
# build/ebssh-api under wrk against the AWS double: requests per second and
# latency percentiles (wrk --latency) for /health and /eb/{env}/ip, each
# beside a reference measured in the same run with the same wrk settings:
#   /health          vs a Python http.server answering a constant (the AWS
#                    double's own /__control/health): a server that does nothing
#   /eb/{env}/ip     vs the AWS double alone, sent the request ebssh-api sends
#                    it (one DescribeInstances signed once by botocore,
#                    bench/lib/signed_wrk_script.py): every /eb/{env}/ip
#                    request makes one such call, so the double's own rate
#                    is the ceiling of the route's, whatever ebssh-api does
# and ebssh-api's CPU time per request over the run (/proc/<pid>/stat).
# Prints markdown tables.
#
#   bench/api_wrk.sh                      (EBSSH_BUILD=build by default)
#   DURATION=10 WARMUP=1 CONNECTIONS=16 WRK_THREADS=2 API_THREADS=4 bench/api_wrk.sh
#
# The AWS double is tests/doubles/aws_double.py. wrk, the server and the double
# share this machine's cores.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${EBSSH_BUILD:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-16}
wrk_threads=${WRK_THREADS:-2}
warmup=${WARMUP:-1}
api_threads=${API_THREADS:-4}
env_name=my-env-production
PY=/usr/bin/python3

die() {
	echo "api_wrk: $*" >&2
	exit 1
}
command -v wrk >/dev/null 2>&1 || die "wrk is missing (make deps installs it)"
[ -x "$build/ebssh-api" ] || die "$build/ebssh-api is missing (make)"

tmp=$(mktemp -d)
double_pid=""
api_pid=""
cleanup() {
	[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null
	[ -n "$double_pid" ] && kill "$double_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_for() { # wait_for FILE PATTERN: until FILE has a line matching PATTERN (10 s)
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || return 1
		sleep 0.05
	done
}

# The AWS double.
"$PY" "$root/tests/doubles/aws_double.py" --port 0 >"$tmp/double.out" 2>"$tmp/double.err" &
double_pid=$!
wait_for "$tmp/double.out" '^PORT ' || die "the AWS double did not start: $(cat "$tmp/double.err")"
aws_url="http://127.0.0.1:$(sed -n 's/^PORT //p' "$tmp/double.out")"

# ebssh-api, with the double's session key and nothing of the user's AWS setup.
env -i PATH=/usr/bin:/bin HOME="$tmp" \
	AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE \
	AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY \
	AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDEXAMPLEtoken+with/slashes+and==' \
	AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$aws_url" AWS_ENDPOINT_URL_EC2="$aws_url" \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	"$build/ebssh-api" --listen 127.0.0.1:0 --threads "$api_threads" 2>"$tmp/api.log" &
api_pid=$!
wait_for "$tmp/api.log" 'listening on' || die "ebssh-api did not start: $(cat "$tmp/api.log")"
api_url="http://$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$tmp/api.log" | head -n 1)"

# Check the answers before measuring them.
"$PY" - "$api_url/eb/$env_name/ip" <<'EOF' || die "ebssh-api did not answer the lookup"
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
body = opener.open(sys.argv[1], timeout=10).read().decode()
if body != "54.210.1.12\n54.210.1.11\n54.210.1.13\n":
    sys.exit("ebssh-api answered %r" % body)
EOF
"$PY" "$root/bench/lib/signed_wrk_script.py" "$aws_url" "$env_name" >"$tmp/describe.lua" ||
	die "could not make the signed request"

cpu_ticks() { # user + system clock ticks of pid $1, exited threads included
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
hz=$(getconf CLK_TCK)

# run NAME URL [wrk args...]: a warm-up ($WARMUP s), then the measured run; appends
# "name rps p50 p90 p99 non2xx errors api_cpu_ms_per_request" to $tmp/rows.
run() {
	name=$1
	url=$2
	shift 2
	if [ "$warmup" -gt 0 ]; then
		wrk -t"$wrk_threads" -c"$connections" -d"${warmup}s" "$@" "$url" >/dev/null 2>&1 || true
	fi
	before=$(cpu_ticks "$api_pid")
	wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$@" "$url" >"$tmp/wrk.out" 2>&1 ||
		die "wrk failed: $(cat "$tmp/wrk.out")"
	after=$(cpu_ticks "$api_pid")
	awk -v name="$name" -v cpu=$((after - before)) -v hz="$hz" -v api="$url" -v self="$api_url" '
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
			c = (index(api, self) == 1 && n > 0) ? sprintf("%.3f", cpu / hz * 1000 / n) : "-"
			printf "%s %s %.2f %.2f %.2f %d %s %s\n", name, rps, p50, p90, p99, bad + 0,
			       (err == "" ? "none" : err), c
		}' "$tmp/wrk.out" >>"$tmp/rows"
	cp "$tmp/wrk.out" "$tmp/wrk.$name.out"
}

: >"$tmp/rows"
run api-health "$api_url/health"
run py-health "$aws_url/__control/health"
run api-ip "$api_url/eb/$env_name/ip"
run double-alone "$aws_url/" -s "$tmp/describe.lua"

kill -TERM "$api_pid"
wait "$api_pid" 2>/dev/null || true
api_pid=""

"$PY" - "$tmp/rows" "$duration" "$connections" "$wrk_threads" "$api_threads" "$env_name" "$warmup" <<'EOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows[f[0]] = {"rps": float(f[1]), "p50": float(f[2]), "p90": float(f[3]), "p99": float(f[4]),
                  "bad": int(f[5]), "err": f[6], "cpu": f[7]}
duration, conns, wthreads, athreads, env, warmup = sys.argv[2:8]

def ratio(a, b):
    r = a / b if b else float("nan")
    return ("%.0fx" if r >= 100 else "%.1fx" if r >= 10 else "%.2fx") % r

def line(label, r, ref):
    return "| %s | %.0f | %.2f | %.2f | %.2f | %s | %s | %s |" % (
        label, r["rps"], r["p50"], r["p90"], r["p99"],
        "%d non-2xx, socket errors: %s" % (r["bad"], r["err"]), r["cpu"], ref)

print("wrk %s threads, %s connections, %s s per run (after %s s of warm-up); "
      "ebssh-api with %s worker threads." % (wthreads, conns, duration, warmup, athreads))
print()
print("| route, server | requests/s | p50 ms | p90 ms | p99 ms | errors "
      "| ebssh-api CPU ms/request | ratio |")
print("|---|---|---|---|---|---|---|---|")
a, p = rows["api-health"], rows["py-health"]
print(line("/health, ebssh-api", a, "%s the Python server's rate" % ratio(a["rps"], p["rps"])))
print(line("a constant, Python http.server (reference)", p, "1x"))
a, d = rows["api-ip"], rows["double-alone"]
print(line("/eb/%s/ip, ebssh-api" % env, a, "%s the double's own rate" % ratio(a["rps"], d["rps"])))
print(line("DescribeInstances, the AWS double alone (reference)", d, "1x"))
EOF
