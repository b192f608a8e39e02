#!/bin/sh
# The Lambda zip answers an API Gateway event inside an empty root: packs
# $EBSSH_BUILD/bootstrap with scripts/package.sh, unzips it into a root that
# holds only /var/task and an empty /tmp, and runs /var/task/bootstrap there
# with chroot against the Runtime API double on 127.0.0.1. Prints TAP.
# Skipped for sanitizer builds (not what we ship) and when not root.
set -u

: "${EBSSH_BUILD:?}"
root_dir=${EBSSH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
n=0
failed=0

ok() { # ok COND-STATUS NAME [DIAG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | head -n 30 | sed 's/^/#   /'
	fi
}

finish() {
	echo "1..$n"
	exit $((failed > 0))
}

bootstrap="$EBSSH_BUILD/bootstrap"
if [ ! -x "$bootstrap" ]; then
	ok 1 "$bootstrap exists"
	finish
fi
if ldd "$bootstrap" 2>/dev/null | grep -q 'lib[atl]san\|libubsan'; then
	echo "ok 1 - package runs in an empty root # SKIP sanitizer build is not what we ship"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - package runs in an empty root # SKIP chroot needs root"
	exit 0
fi

tmp=$(mktemp -d)
double_pid=""
boot_pid=""
cleanup() {
	[ -n "$boot_pid" ] && kill "$boot_pid" 2>/dev/null
	[ -n "$double_pid" ] && kill "$double_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# 1. The package.
out=$("$root_dir/scripts/package.sh" "$bootstrap" "$tmp/lambda.zip" 2>&1)
ok $? "package.sh makes the zip" "$out"
size=$(wc -c <"$tmp/lambda.zip" 2>/dev/null || echo 0)
echo "# $out"

# 2. Its layout: bootstrap at the root, 0755, the loader and libraries in lib/.
listing=$(unzip -Z "$tmp/lambda.zip" 2>&1)
echo "$listing" | grep -q '^-rwxr-xr-x .* bootstrap$' &&
	echo "$listing" | grep -q ' lib/ld-linux[^ ]*\.so\.[0-9]*$' &&
	echo "$listing" | grep -q ' lib/libc\.so\.6$'
ok $? "bootstrap (0755) at the zip root, loader and libc in lib/" "$listing"
rules=$(unzip -p "$tmp/lambda.zip" zone-rules.txt 2>&1)
echo "$rules" | grep -qx 'Europe/Paris	CET-1CEST,M3.5.0,M10.5.0/3' &&
	echo "$rules" | grep -qx 'UTC	UTC0' &&
	! echo "$rules" | grep -q '^right/\|^posix/\|^localtime' &&
	! echo "$listing" | grep -q ' zoneinfo/'
ok $? "NOTIFY_TZ's zones as POSIX rules in zone-rules.txt (no zone files)" "$(echo "$rules" | head -n 3)"
# The lean build (curl's and OpenSSL's sources fetched by make deps: bootstrap
# then needs only libc) must stay within issue 17's 3 MB; the system build
# (no sources) carries libcurl's 34 libraries, under 30 MB.
if "$bootstrap" --version 2>/dev/null | grep -q '^OpenSSL .*(Debian ' &&
	! "$bootstrap" --version 2>/dev/null | grep -q '(system)'; then
	test "$size" -le 3000000
	ok $? "the lean build's zip is at most 3,000,000 bytes ($size bytes)"
else
	test "$size" -lt $((30 * 1024 * 1024))
	ok $? "the zip is under 30 MB ($size bytes; not the lean build)"
fi

# 3. An empty root: only /var/task (the zip) and /tmp.
mkdir -p "$tmp/root/var/task" "$tmp/root/tmp"
chmod 1777 "$tmp/root/tmp"
unzip -q "$tmp/lambda.zip" -d "$tmp/root/var/task"
ok $? "unzips into /var/task"
interp=$(patchelf --print-interpreter "$tmp/root/var/task/bootstrap" 2>&1)
rpath=$(readelf -d "$tmp/root/var/task/bootstrap" 2>&1 | grep -E '\((RPATH|RUNPATH)\)')
case "$interp" in /var/task/lib/ld-linux*) r=0 ;; *) r=1 ;; esac
echo "$rpath" | grep -q '(RPATH).*\[/var/task/lib\]' || r=1
ok $r "interpreter in /var/task/lib, DT_RPATH /var/task/lib" "$interp $rpath"
top=$(ls -A "$tmp/root" | tr '\n' ' ')
test "$top" = "tmp var "
ok $? "the root holds nothing but var/ and tmp/" "$top"

# 4. Under the Runtime API double, one API Gateway event.
events="$tmp/events.json"
# The invocations tests/integration/package_arm64.py sends too (tests/lib/lambda_chroot.py).
EBSSH_VECTORS="$EBSSH_VECTORS" "$PY" "$root_dir/tests/lib/lambda_chroot.py" events "$events"
"$PY" "$root_dir/tests/doubles/runtime_api.py" --events "$events" >"$tmp/port" &
double_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
port=$(sed -n 's/^PORT //p' "$tmp/port")

chroot=$(command -v chroot)
start=$(date +%s%N)
env -i AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
	AWS_SESSION_TOKEN=token AWS_LAMBDA_FUNCTION_NAME=ebssh LAMBDA_TASK_ROOT=/var/task \
	"$chroot" "$tmp/root" /var/task/bootstrap 2>"$tmp/boot.err" &
boot_pid=$!

results=$("$PY" - "$port" <<'EOF'
import json, sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:%s/__control/wait" % sys.argv[1],
                             data=json.dumps({"count": 3, "timeout": 15}).encode(), method="POST")
try:
    print(urllib.request.urlopen(req, timeout=30).read().decode())
except Exception as e:  # 408 on timeout: print what is there
    print(getattr(e, "read", lambda: str(e).encode())().decode())
EOF
)
took=$((($(date +%s%N) - start) / 1000000))
echo "# three invocations answered in ${took} ms (start included)"

check() { # check PYTHON-EXPR-ON-r
	printf '%s' "$results" | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
inv = {e['request_id']: e for e in r['invocations']}
sys.exit(0 if ($1) else 1)" 2>/dev/null
}
check "json.loads(inv['chroot-1']['body'])['statusCode'] == 200 and json.loads(inv['chroot-1']['body'])['body'] == 'ok\\n'"
ok $? "the API Gateway event is answered from inside the empty root" "$results
$(cat "$tmp/boot.err")"
check "[e for e in r['invocations'] if e['kind'] == 'error' and e['headers'].get('Lambda-Runtime-Function-Error-Type') == 'Runtime.InvalidEvent']"
ok $? "a bad event is reported to /error" "$results"
check "inv['chroot-2']['kind'] == 'response' and not r['init_errors']"
ok $? "the next event is answered too, no init error" "$results"

# 5. A container error ends it.
"$PY" -c "
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$port/__control/shutdown', data=b'{}', method='POST'), timeout=10)"
i=0
while kill -0 "$boot_pid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if kill -0 "$boot_pid" 2>/dev/null; then
	ok 1 "bootstrap exits when /next answers 500"
else
	wait "$boot_pid"
	rc=$?
	boot_pid=""
	test "$rc" -eq 1
	ok $? "bootstrap exits when /next answers 500 (status $rc)" "$(cat "$tmp/boot.err")"
fi
finish
