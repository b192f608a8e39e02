#!/bin/sh
# The credential chain against tests/doubles/metadata_double.py: container
# credentials (full and relative URI, token and token file), IMDSv2 (happy
# path, disabled, token refused, no role, unreachable), the order
# env > profile > container > IMDS, and refreshing before Expiration.
# Runs $EBSSH_BUILD/tests/creds_probe in a clean environment; prints TAP.
set -u
: "${EBSSH_BUILD:?}" "${EBSSH_ROOT:?}"
PY=/usr/bin/python3
probe="$EBSSH_BUILD/tests/creds_probe"
double="$EBSSH_ROOT/tests/doubles/metadata_double.py"
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home"

n=0
check() { # name want got
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "want:" "$2" "got:" "$3" | sed 's/^/# /'
	fi
}

# start_double ARGS...: sets pid, port, base.
dn=0
start_double() {
	dn=$((dn + 1))
	"$PY" "$double" "$@" >"$tmp/double$dn.out" 2>"$tmp/double$dn.err" &
	pid=$!
	pids="$pids $pid"
	i=0
	while [ ! -s "$tmp/double$dn.out" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	port=$(head -n 1 "$tmp/double$dn.out")
	base="http://127.0.0.1:$port"
}

stop_double() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# stat NAME: one field of the running double's /_stats.
stat() {
	"$PY" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_stats"))[sys.argv[2]])' "$base" "$1"
}

# probe CALLS VAR=VALUE...: the probe's output and, last, "exit=N".
probe() {
	calls=$1
	shift
	env -i PATH=/usr/bin:/bin HOME="$tmp/home" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
		"$@" "$probe" "$calls" 2>&1
	echo "exit=$?"
}

# ---- container credentials --------------------------------------------
start_double --container-token tok-123
got=$(probe 1 AWS_EC2_METADATA_DISABLED=true EBSSH_PROBE_SECRET=container-secret \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=tok-123)
check "container full URI with token" \
	"call 1: key=ASIACONTAINER1 token=yes expires=yes source=container secret=match
exit=0" "$got"
check "container asked for JSON" "application/json" "$(stat last_accept)"

got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong)
check "container wrong token is an error" \
	"call 1: error credentials: container credentials from $base/container/creds: HTTP 401: Authorization header missing or wrong
exit=1" "$got"

got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds")
check "container missing token is an error, not a fall-through" \
	"call 1: error credentials: container credentials from $base/container/creds: HTTP 401: Authorization header missing or wrong
exit=1" "$got"

printf 'tok-123\n' >"$tmp/token"
got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$tmp/token")
check "container token file wins over the token variable" \
	"call 1: key=ASIACONTAINER2 token=yes expires=yes source=container
exit=0" "$got"

got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$tmp/nofile")
check "container token file missing" \
	"call 1: error credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: $tmp/nofile does not exist
exit=1" "$got"

printf 'tok\r\n-123' >"$tmp/badtoken"
got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$tmp/badtoken")
check "container token with a line break is refused" \
	"call 1: error credentials: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is not a valid header value
exit=1" "$got"

got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	EBSSH_CONTAINER_CREDENTIALS_BASE="$base" \
	AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:1/never" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=tok-123)
check "container relative URI, before the full URI" \
	"call 1: key=ASIACONTAINER3 token=yes expires=yes source=container
exit=0" "$got"

got=$(probe 1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.1/creds")
check "container full URI over http to another host is refused" \
	"call 1: error credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: http is allowed only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https for other hosts
exit=1" "$got"
check "container: the two requests without the right token were refused" "2" "$(stat unauthorized)"
stop_double

start_double --expire-seconds 60
got=$(probe 2 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="http://localhost:$port/container/x")
check "container credentials expiring within 15 minutes are fetched again" \
	"call 1: key=ASIACONTAINER1 token=yes expires=yes source=container
call 2: key=ASIACONTAINER2 token=yes expires=yes source=container
exit=0" "$got"
stop_double

# ---- IMDSv2 -------------------------------------------------------------
start_double
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base/" EBSSH_PROBE_SECRET=imds-secret)
check "IMDSv2 happy path" \
	"call 1: key=ASIAIMDS1 token=yes expires=yes source=imds secret=match
exit=0" "$got"
check "IMDSv2 token asked for 21600 seconds" "21600" "$(stat last_ttl)"
check "IMDSv2 every GET carried the token" "0" "$(stat unauthorized)"
check "IMDSv2 one role lookup" "1" "$(stat role_gets)"

got=$(probe 3 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "IMDS credentials far from expiry are cached" \
	"call 1: key=ASIAIMDS2 token=yes expires=yes source=imds
call 2: key=ASIAIMDS2 token=yes expires=yes source=imds
call 3: key=ASIAIMDS2 token=yes expires=yes source=imds
exit=0" "$got"
check "IMDS cached: one more token, no more" "2" "$(stat token_puts)"

got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base" AWS_EC2_METADATA_DISABLED=TRUE)
check "IMDS disabled" \
	"call 1: error credentials: no AWS credentials found (environment: not set; profile default: no credentials in no credentials file, no config file; container: not configured; IMDS: disabled by AWS_EC2_METADATA_DISABLED)
exit=1" "$got"
check "IMDS disabled: no request" "2" "$(stat token_puts)"
stop_double

start_double --refuse-token
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "IMDS token refused" \
	"call 1: error credentials: no AWS credentials found (environment: not set; profile default: no credentials in no credentials file, no config file; container: not configured; IMDS $base: token request: HTTP 403)
exit=1" "$got"
check "IMDS token refused: no tokenless fallback" "00" "$(stat role_gets)$(stat unauthorized)"
stop_double

start_double --no-role
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "IMDS without an instance role" \
	"call 1: error credentials: no AWS credentials found (environment: not set; profile default: no credentials in no credentials file, no config file; container: not configured; IMDS $base: no IAM role attached to the instance)
exit=1" "$got"
stop_double

start=$(date +%s)
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1)
end=$(date +%s)
case "$got" in
*"IMDS http://127.0.0.1:1: token request: "*"exit=1") r=fast-error ;;
*) r="$got" ;;
esac
[ $((end - start)) -le 3 ] || r="slow: $((end - start)) s"
check "IMDS unreachable fails fast" "fast-error" "$r"

# ---- refreshing ------------------------------------------------------------
start_double --expire-seconds 120
got=$(probe 3 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "IMDS credentials within 15 minutes of expiry are fetched again" \
	"call 1: key=ASIAIMDS1 token=yes expires=yes source=imds
call 2: key=ASIAIMDS2 token=yes expires=yes source=imds
call 3: key=ASIAIMDS3 token=yes expires=yes source=imds
exit=0" "$got"
stop_double

# botocore's windows: refresh within 15 minutes of expiry (advisory: a failure
# keeps the old credentials), within 10 minutes a failed refresh is an error.
start_double --expire-seconds 720 --fail-after 1
got=$(probe 3 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "a failed refresh in the advisory window keeps credentials that are still valid" \
	"call 1: key=ASIAIMDS1 token=yes expires=yes source=imds
call 2: key=ASIAIMDS1 token=yes expires=yes source=imds
call 3: key=ASIAIMDS1 token=yes expires=yes source=imds
exit=0" "$got"
check "after a failed refresh the next waits a little" "2" "$(stat imds_creds_gets)"
stop_double

start_double --expire-seconds 300 --fail-after 1
got=$(probe 2 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "a failed refresh in the mandatory window is an error" \
	"call 1: key=ASIAIMDS1 token=yes expires=yes source=imds
call 2: error credentials: IMDS $base: role credentials: HTTP 500
exit=1" "$got"
stop_double

start_double --expire-seconds -10
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "credentials already expired when fetched are an error" \
	"call 1: error credentials: imds credentials had expired when fetched
exit=1" "$got"
stop_double

# ---- precedence --------------------------------------------------------------
start_double --container-token tok-123
printf '[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n' >"$tmp/creds"
set -- AWS_EC2_METADATA_SERVICE_ENDPOINT="$base" \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$base/container/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=tok-123
got=$(probe 1 "$@" AWS_SHARED_CREDENTIALS_FILE="$tmp/creds" \
	AWS_ACCESS_KEY_ID=AKIDENV AWS_SECRET_ACCESS_KEY=s AWS_SESSION_TOKEN=t)
check "environment before profile, container and IMDS" \
	"call 1: key=AKIDENV token=yes expires=no source=environment
exit=0" "$got"
got=$(probe 1 "$@" AWS_SHARED_CREDENTIALS_FILE="$tmp/creds")
check "profile before container and IMDS" \
	"call 1: key=AKIDPROFILE token=no expires=no source=profile
exit=0" "$got"
got=$(probe 1 "$@" AWS_SHARED_CREDENTIALS_FILE="$tmp/nocreds")
check "container before IMDS" \
	"call 1: key=ASIACONTAINER1 token=yes expires=yes source=container
exit=0" "$got"
got=$(probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$base")
check "IMDS last" \
	"call 1: key=ASIAIMDS2 token=yes expires=yes source=imds
exit=0" "$got"
check "precedence: nothing asked of IMDS before it was needed" "1" "$(stat token_puts)"
stop_double

echo "1..$n"
