#!/bin/sh
# make demo: the whole ebssh flow on this machine, with no AWS account.
#
# Starts, all on loopback and all in a temporary directory:
#   - the AWS double (tests/doubles/aws_double.py) holding an Elastic
#     Beanstalk environment "demo-env" of three running instances whose
#     public IPs are 127.0.0.2, 127.0.0.3 and 127.0.0.4 (and a stopped one);
#   - three real OpenSSH sshd, one on each of those addresses, port 2222
#     (DEMO_PORT; 0 picks a free port), each telling its sessions its
#     instance id in $INSTANCE;
#   - build/ebssh-api, the lookup service, in front of the AWS double;
# then shows curl, ebssh-proxy --print, ssh and scp going through
# build/ebssh-proxy to the right instance, one step at a time. It stops
# everything it started (by the PIDs it recorded) and removes its directory
# when it ends, when it fails and when interrupted. It never touches your
# ~/.ssh, ~/.cache or ~/.config: HOME and the XDG directories point into the
# temporary directory. Works as root and as a normal user.
#
# Environment: DEMO_NONINTERACTIVE=1 (or no terminal) runs the steps without
# pausing; DEMO_PORT (default 2222); BUILD (default build); DEMO_SKIP_BUILD=1
# uses the programs as they are instead of running make.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
PY=/usr/bin/python3
SSHD=/usr/sbin/sshd
ENV_NAME=demo-env
API_KEY=demo-api-key-0123456789
IPS="127.0.0.2 127.0.0.3 127.0.0.4"

if [ -n "${DEMO_NONINTERACTIVE:-}" ] || ! [ -t 0 ] || ! [ -t 1 ]; then
	interactive=0
else
	interactive=1
fi

say() { printf '%s\n' "$*"; }
die() {
	say "demo: $*" >&2
	exit 1
}

# --- what the demo needs ------------------------------------------------------
missing=""
for p in "$SSHD" /usr/lib/openssh/sftp-server "$PY"; do
	[ -x "$p" ] || missing="$missing $p"
done
for c in ssh scp ssh-keygen curl; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -x "$PY" ] && ! "$PY" -c 'import botocore' 2>/dev/null; then
	missing="$missing python3-botocore"
fi
[ -z "$missing" ] || die "missing:$missing (run: make deps)"

if [ "${DEMO_SKIP_BUILD:-}" != 1 ]; then
	say "demo: building what is missing (make -s)"
	"${MAKE:-make}" -s --no-print-directory -C "$root" BUILD="$build" all
fi
for p in ebssh-proxy ebssh-api; do
	[ -x "$build/$p" ] || die "no $build/$p (run: make)"
done

# --- clean up whatever happens --------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ebssh-demo.XXXXXX")
pids=""
cleanup() {
	trap - EXIT INT TERM HUP
	for pid in $pids; do
		kill "$pid" 2>/dev/null || :
	done
	for pid in $pids; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	done
	rm -rf "$work"
	say ""
	say "demo: stopped everything it started (pids:${pids:- none}) and removed $work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# Children get a private HOME and XDG directories, and nothing of the user's
# ssh-agent, AWS or ebssh settings.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$XDG_CONFIG_HOME/ebssh" "$XDG_CACHE_HOME"
chmod 700 "$HOME"
unset SSH_AUTH_SOCK EBSSH_ENDPOINT EBSSH_API_KEY AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_EC2 \
	AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN 2>/dev/null || :
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
user=$(id -un)

# started NAME PID: records a child to stop at the end.
started() {
	pids="$pids $2"
	say "  started $1 (pid $2)"
}

# wait_for FILE REGEX SECONDS PID: until a line of FILE matches (printed).
wait_for() {
	i=0
	while [ "$i" -lt $(($3 * 20)) ]; do
		if line=$(grep -E -m1 "$2" "$1" 2>/dev/null); then
			printf '%s\n' "$line"
			return 0
		fi
		kill -0 "$4" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# port_state IP PORT: "free", "taken" or "open" (something answers).
port_state() {
	"$PY" - "$1" "$2" <<'EOF'
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((ip, port), timeout=0.2).close()
    print("open")
except OSError:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((ip, port))
        print("free")
    except OSError:
        print("taken")
EOF
}

free_port() {
	# shellcheck disable=SC2086 # one argument per address
	"$PY" - $IPS <<'EOF'
import socket, sys
for _ in range(100):
    s = socket.socket(); s.bind((sys.argv[1], 0)); port = s.getsockname()[1]; s.close()
    ok = True
    for ip in sys.argv[2:]:
        t = socket.socket()
        try:
            t.bind((ip, port))
        except OSError:
            ok = False
        t.close()
    if ok:
        print(port)
        break
EOF
}

step_n=0
# step TITLE EXPLANATION...: a heading and what is about to happen; pauses
# for Enter when interactive.
step() {
	step_n=$((step_n + 1))
	say ""
	say "== Step $step_n: $1"
	shift
	for l in "$@"; do say "   $l"; done
	if [ "$interactive" = 1 ]; then
		printf '   [Enter to run it, Ctrl-C to stop] '
		read -r _ || :
	fi
}

# show CMD...: prints the command as one would type it, then runs it.
show() {
	say "\$ $SHOW"
	"$@"
}

say "demo: working in $work (this script is pid $$)"

# --- the AWS double and its instances -------------------------------------------
port=${DEMO_PORT:-2222}
if [ "$port" = 0 ]; then
	port=$(free_port)
else
	for ip in $IPS; do
		if [ "$(port_state "$ip" "$port")" != free ]; then
			[ -z "${DEMO_PORT:-}" ] || die "port $port is in use on $ip; choose another with DEMO_PORT"
			port=$(free_port)
			say "demo: port 2222 is in use; using $port"
			break
		fi
	done
fi
[ -n "$port" ] || die "found no free port"

cat >"$work/fixture.json" <<EOF
{"instances": [
 {"id": "i-0de00000000000003", "state": "running", "launch_time": "2024-06-03T09:00:00.000Z",
  "az": "us-east-1c", "public_ip": "127.0.0.4", "private_ip": "10.0.3.13",
  "tags": {"elasticbeanstalk:environment-name": "$ENV_NAME", "Name": "$ENV_NAME"}},
 {"id": "i-0de00000000000001", "state": "running", "launch_time": "2024-06-01T09:00:00.000Z",
  "az": "us-east-1a", "public_ip": "127.0.0.2", "private_ip": "10.0.1.11",
  "tags": {"elasticbeanstalk:environment-name": "$ENV_NAME", "Name": "$ENV_NAME"}},
 {"id": "i-0de00000000000009", "state": "stopped", "launch_time": "2024-05-01T09:00:00.000Z",
  "az": "us-east-1a", "public_ip": null, "private_ip": "10.0.1.19",
  "tags": {"elasticbeanstalk:environment-name": "$ENV_NAME", "Name": "$ENV_NAME"}},
 {"id": "i-0de00000000000002", "state": "running", "launch_time": "2024-06-02T09:00:00.000Z",
  "az": "us-east-1b", "public_ip": "127.0.0.3", "private_ip": "10.0.2.12",
  "tags": {"elasticbeanstalk:environment-name": "$ENV_NAME", "Name": "$ENV_NAME"}}
]}
EOF

say "demo: starting the AWS double (EC2 DescribeInstances on loopback, SigV4 checked)"
"$PY" -B "$root/tests/doubles/aws_double.py" --port 0 --fixture "$work/fixture.json" \
	>"$work/aws.out" 2>"$work/aws.log" </dev/null &
started "the AWS double" $!
aws_pid=$!
aws_port=$(wait_for "$work/aws.out" '^PORT [0-9]+$' 15 "$aws_pid" | cut -d' ' -f2) ||
	die "the AWS double did not start: $(tail -n 5 "$work/aws.log")"

say "demo: starting three sshd \"instances\" on port $port"
ssh-keygen -q -t ed25519 -N "" -C "ebssh-demo" -f "$work/id_ed25519" </dev/null
cp "$work/id_ed25519.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
: >"$work/known_hosts"
n=0
for ip in $IPS; do
	n=$((n + 1))
	id="i-0de0000000000000$n"
	ssh-keygen -q -t ed25519 -N "" -C "$id" -f "$work/host$n" </dev/null
	cat >"$work/sshd$n.conf" <<EOF
ListenAddress $ip:$port
HostKey $work/host$n
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd$n.pid
SetEnv INSTANCE=$id
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
	"$SSHD" -D -e -f "$work/sshd$n.conf" </dev/null >"$work/sshd$n.log" 2>&1 &
	started "sshd for $id on $ip:$port" $!
	sshd_pid=$!
	# The known_hosts ssh will check: each instance's host key under the
	# names that reach it (we made the keys, so we know them).
	key=$(cut -d' ' -f1,2 "$work/host$n.pub")
	names="[$ENV_NAME$n]:$port,[$ENV_NAME.$n]:$port"
	[ "$n" != 1 ] || names="[$ENV_NAME]:$port,$names"
	say "$names $key" >>"$work/known_hosts"
	i=0
	until [ "$(port_state "$ip" "$port")" = open ]; do
		if ! kill -0 "$sshd_pid" 2>/dev/null || [ "$i" -ge 100 ]; then
			die "sshd on $ip:$port did not start: $(tail -n 5 "$work/sshd$n.log")"
		fi
		sleep 0.05
		i=$((i + 1))
	done
done

say "demo: starting ebssh-api, the lookup service, against the AWS double"
env AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
	AWS_REGION=us-east-1 AWS_ENDPOINT_URL_EC2="http://127.0.0.1:$aws_port" \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	"$build/ebssh-api" --listen 127.0.0.1:0 --api-key "$API_KEY" </dev/null >/dev/null 2>"$work/api.log" &
started "ebssh-api" $!
api_pid=$!
listen=$(wait_for "$work/api.log" 'listening on [0-9.]+:[0-9]+' 15 "$api_pid") ||
	die "ebssh-api did not start: $(tail -n 5 "$work/api.log")"
api_port=$(printf '%s\n' "$listen" | sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p')
URL="http://127.0.0.1:$api_port"

# ebssh-proxy's own configuration file, as a user would write it.
cat >"$XDG_CONFIG_HOME/ebssh/config" <<EOF
endpoint = $URL
api_key = $API_KEY
EOF
chmod 600 "$XDG_CONFIG_HOME/ebssh/config"

cat >"$work/ssh_config" <<EOF
Host $ENV_NAME*
    ProxyCommand $build/ebssh-proxy %h %p
    Port $port
    User $user
    IdentityFile $work/id_ed25519
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $work/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    BatchMode yes
    LogLevel ERROR
EOF

say "demo: ready. The lookup service is $URL (API key $API_KEY)."

# --- the steps --------------------------------------------------------------------
step "ask the lookup service for $ENV_NAME's instances" \
	"ebssh-api asks EC2 (here the double) for the running instances tagged" \
	"elasticbeanstalk:environment-name=$ENV_NAME and answers their public IPs," \
	"oldest launch first. The stopped instance is left out."
SHOW="curl -sS -H 'x-api-key: $API_KEY' $URL/eb/$ENV_NAME/ip"
show curl -sS -H "x-api-key: $API_KEY" "$URL/eb/$ENV_NAME/ip"

step "the 2nd instance only" \
	"/ip/N answers the N-th of that list: what ebssh-proxy asks for."
SHOW="curl -sS -H 'x-api-key: $API_KEY' $URL/eb/$ENV_NAME/ip/2"
show curl -sS -H "x-api-key: $API_KEY" "$URL/eb/$ENV_NAME/ip/2"

step "the same list as JSON" \
	"With Accept: application/json the answer carries instance ids and more."
say "\$ curl -sS -H 'x-api-key: $API_KEY' -H 'Accept: application/json' $URL/eb/$ENV_NAME/ip | python3 -m json.tool"
curl -sS -H "x-api-key: $API_KEY" -H "Accept: application/json" "$URL/eb/$ENV_NAME/ip" >"$work/ip.json"
"$PY" -m json.tool "$work/ip.json"

step "ebssh-proxy resolves an alias" \
	"The alias ${ENV_NAME}2 means instance 2 of $ENV_NAME (${ENV_NAME}.2 too)." \
	"ebssh-proxy reads the endpoint and API key from its configuration file:" \
	"  $XDG_CONFIG_HOME/ebssh/config" \
	"--print prints the address instead of connecting."
SHOW="ebssh-proxy --print ${ENV_NAME}2"
show "$build/ebssh-proxy" --print "${ENV_NAME}2"

step "the ssh_config that makes ssh use ebssh-proxy" \
	"One Host pattern: ssh runs 'ebssh-proxy %h %p' to reach any $ENV_NAME* alias." \
	"Host keys are checked strictly (the demo made them, so known_hosts has them;" \
	"ssh_config.example shows the everyday settings)."
SHOW="cat $work/ssh_config"
show cat "$work/ssh_config"

step "ssh to instance 2" \
	"ssh -> ebssh-proxy -> lookup (answer cached for 30 s) -> 127.0.0.3:$port." \
	"All three instances are this machine; \$INSTANCE tells them apart."
SHOW="ssh -F $work/ssh_config ${ENV_NAME}2 'echo \$INSTANCE; hostname'"
# shellcheck disable=SC2016 # $INSTANCE is the remote's
show ssh -F "$work/ssh_config" "${ENV_NAME}2" 'echo $INSTANCE; hostname' </dev/null

step "scp a file to instance 3 and back" \
	"A 1 MiB random file goes up to ${ENV_NAME}.3 and comes back; the checksums match."
head -c 1048576 /dev/urandom >"$work/hello.bin"
mkdir -p "$work/remote"
SHOW="scp -F $work/ssh_config hello.bin ${ENV_NAME}.3:$work/remote/hello.bin"
show scp -q -F "$work/ssh_config" "$work/hello.bin" "${ENV_NAME}.3:$work/remote/hello.bin" </dev/null
SHOW="scp -F $work/ssh_config ${ENV_NAME}3:$work/remote/hello.bin back.bin"
show scp -q -F "$work/ssh_config" "${ENV_NAME}3:$work/remote/hello.bin" "$work/back.bin" </dev/null
sent=$(sha256sum <"$work/hello.bin" | cut -d' ' -f1)
got=$(sha256sum <"$work/back.bin" | cut -d' ' -f1)
[ "$sent" = "$got" ] || die "the file came back different ($sent, $got)"
say "sha256 $got, sent and received: intact"
SHOW="ssh -F $work/ssh_config ${ENV_NAME}.3 'echo \$INSTANCE has the file'"
# shellcheck disable=SC2016
show ssh -F "$work/ssh_config" "${ENV_NAME}.3" 'echo $INSTANCE has the file' </dev/null

# Three of the requests were curl's; ebssh-proxy ran five times (--print,
# two ssh, two scp).
asked=$(($(grep -c '"path":"/eb/' "$work/api.log" || :) - 3))
say ""
say "== Done. ebssh-proxy ran 5 times but asked ebssh-api only $asked times: its cache"
say "   ($XDG_CACHE_HOME/ebssh) answered the rest. For real use: deploy the"
say "   service (docs/deploy.md), put its endpoint and key in ~/.config/ebssh/config,"
say "   and add the Host block of ssh_config.example to ~/.ssh/config."
