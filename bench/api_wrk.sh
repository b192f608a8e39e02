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
bench_name=api_wrk
. "$root/bench/lib/api_bench.sh"

bench_start_double
bench_start_api -- --threads "$api_threads"
bench_check_lookup "$env_name"
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
	row=$(bench_wrk_row "$name" "$tmp/wrk.out")
	n=${row##* }
	case "$url" in
	"$api_url"*) [ "$n" -gt 0 ] && cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" \
		'BEGIN { printf "%.3f", t / hz * 1000 / n }') || cpu=- ;;
	*) cpu=- ;;
	esac
	echo "$row $cpu" >>"$tmp/rows"
	cp "$tmp/wrk.out" "$tmp/wrk.$name.out"
}

: >"$tmp/rows"
run api-health "$api_url/health"
run py-health "$aws_url/__control/health"
run api-ip "$api_url/eb/$env_name/ip"
run double-alone "$aws_url/" -s "$tmp/describe.lua"

bench_stop_api

"$PY" - "$tmp/rows" "$duration" "$connections" "$wrk_threads" "$api_threads" "$env_name" "$warmup" <<'EOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows[f[0]] = {"rps": float(f[1]), "p50": float(f[2]), "p90": float(f[3]), "p99": float(f[4]),
                  "bad": int(f[5]), "err": f[6], "cpu": f[8]}
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
