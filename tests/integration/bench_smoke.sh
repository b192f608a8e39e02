#!/bin/sh
# The bench scripts still run: each with a tiny iteration count, checked only
# for producing its tables. Never a timing (the machine is shared and noisy;
# bench/README.md). Prints TAP.
set -u

: "${EBSSH_BUILD:?}"
root_dir=${EBSSH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { # ok STATUS NAME DIAG-FILE
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		sed 's/^/#   /' "$3" | tail -n 30
	fi
}

# The lean-against-dynamic bench (issue 17), one build against itself.
/usr/bin/python3 "$root_dir/bench/lean.py" --lean "$EBSSH_BUILD" --dyn "$EBSSH_BUILD" --runs 1 \
	--proxy-runs 1 --plain --no-callgrind >"$tmp/lean.out" 2>&1
rc=$?
grep -q '^| start to first /next, median | [0-9.]* ms | ' "$tmp/lean.out" &&
	grep -q '^| ebssh-proxy --print, warm cache, CPU (median) | [0-9.]* ms | ' "$tmp/lean.out" &&
	[ "$rc" -eq 0 ]
ok $? "bench/lean.py prints its table (status $rc)" "$tmp/lean.out"

# The Lambda bench: build/bootstrap and the Python + boto3 handler (the
# package's chroot runs and callgrind are left to `make bench`).
/usr/bin/python3 "$root_dir/bench/lambda_cold_start.py" --runs 1 --warmup 0 --requests 2 \
	--only plain,python --skip callgrind >"$tmp/lambda.out" 2>&1
rc=$?
grep -q '^| ebssh build/bootstrap | [0-9.]* | ' "$tmp/lambda.out" &&
	grep -q '^| python3 + boto3 | [0-9.]* | ' "$tmp/lambda.out" &&
	grep -q '^### Warm invocations' "$tmp/lambda.out" &&
	grep -q '^| CPU per /eb/{env}/ip request' "$tmp/lambda.out"
r=$?
[ "$rc" -eq 0 ] || r=1
ok $r "bench/lambda_cold_start.py prints its tables (status $rc)" "$tmp/lambda.out"

# ebssh-api under wrk.
if command -v wrk >/dev/null 2>&1; then
	DURATION=1 WARMUP=0 CONNECTIONS=4 sh "$root_dir/bench/api_wrk.sh" >"$tmp/api.out" 2>&1
	rc=$?
	grep -q '^| /health, ebssh-api | [0-9]* | ' "$tmp/api.out" &&
		grep -q '^| /eb/my-env-production/ip, ebssh-api | [0-9]* | ' "$tmp/api.out"
	r=$?
	[ "$rc" -eq 0 ] || r=1
	ok $r "bench/api_wrk.sh prints its table (status $rc)" "$tmp/api.out"
else
	n=$((n + 1))
	echo "ok $n - bench/api_wrk.sh prints its table # SKIP wrk is missing (make deps)"
fi

# ebssh-api under abuse: a few slow connections, a short header deadline.
if command -v wrk >/dev/null 2>&1; then
	DURATION=1 WARMUP=0 CONNECTIONS=4 SLOW=5 HEADER_TIMEOUT=1 OPS=2 OPS_THREADS=2 \
		sh "$root_dir/bench/api_abuse.sh" >"$tmp/abuse.out" 2>&1
	rc=$?
	grep -q '^| /eb/my-env-production/ip alone | [0-9]* | ' "$tmp/abuse.out" &&
		grep -q '^| lookup rate under abuse / alone (issue: >= 0.80) | [0-9.]* ' "$tmp/abuse.out" &&
		grep -q '^| ops answers once released | \[200, 200\] |' "$tmp/abuse.out"
	r=$?
	[ "$rc" -eq 0 ] || r=1
	ok $r "bench/api_abuse.sh prints its tables, the held ops answer (status $rc)" "$tmp/abuse.out"
else
	n=$((n + 1))
	echo "ok $n - bench/api_abuse.sh prints its tables # SKIP wrk is missing (make deps)"
fi

# ebssh-proxy --auth iam against API-key mode: the proxy alone and the whole
# ssh connection to a loopback sshd, one wall run each, no callgrind.
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && [ -x "$EBSSH_BUILD/ebssh-proxy" ]; then
	/usr/bin/python3 "$root_dir/bench/proxy_iam.py" --runs 1 --connection-runs 1 --no-callgrind \
		>"$tmp/iam.out" 2>&1
	rc=$?
	grep -q '^| iam, env (session) | - | - | [0-9.]* | [0-9.]*x |$' "$tmp/iam.out" &&
		grep -q '^| iam, profile | - | - | - | - | [0-9.]* | [0-9.]*x |$' "$tmp/iam.out" &&
		grep -q '^whole connection, worst IAM/API-key wall ratio' "$tmp/iam.out"
	r=$?
	[ "$rc" -eq 0 ] || r=1
	ok $r "bench/proxy_iam.py prints both tables, the proxy alone and the whole connection (status $rc)" \
		"$tmp/iam.out"
else
	n=$((n + 1))
	echo "ok $n - bench/proxy_iam.py prints both tables # SKIP sshd, ssh or build/ebssh-proxy is missing"
fi

echo "1..$n"
exit $((failed > 0))
