#!/bin/sh
# make demo: the whole ebssh flow on this machine, with no AWS account.
#
# Starts, all on loopback and all in a temporary directory:
#   - an AWS backend (DEMO_AWS, below) holding an Elastic Beanstalk
#     environment "demo-env" of three running instances whose public IPs are
#     127.0.0.2, 127.0.0.3 and 127.0.0.4, launched in that order (and a
#     stopped one launched before them);
#   - three real OpenSSH sshd, one on each of those addresses, port 2222
#     (DEMO_PORT; 0 picks a free port), each telling its sessions its
#     instance id in $INSTANCE;
#   - build/ebssh-api, the lookup service, in front of the AWS backend;
# then shows curl, ebssh-proxy --print, ssh and scp going through
# build/ebssh-proxy to the right instance, one step at a time. It stops
# everything it started (by the PIDs it recorded) and removes its directory
# when it ends, when it fails and when interrupted. It never touches your
# ~/.ssh, ~/.cache or ~/.config: HOME and the XDG directories point into the
# temporary directory. Works as root and as a normal user.
#
# DEMO_AWS chooses the AWS backend; the steps are the same for both:
#   double  (the default) the project's AWS double, tests/doubles/aws_double.py,
#           given demo-env as a fixture (instance ids i-0de00000000000001..);
#   moto    moto's server, an AWS emulator nobody here wrote, through the
#           launcher tests/doubles/moto_server.py under the tools' Python
#           (scripts/tools-python.sh; none: the demo stops at once and says
#           to run make deps). demo-env is built in it through EC2's own API
#           by tests/lib/moto_world.py: RunInstances with the tags, the
#           launcher's clock stopped at each launch time, the public IPs as
#           Elastic IPs, StopInstances. The instance ids are moto's; the demo
#           prints them, as DescribeInstances reads them back, and tells each
#           sshd the id of the instance at its address.
#
# Every piece it starts (the AWS backend, each sshd, ebssh-api) is watched
# while it starts and at every step. When one exits, or is not ready within
# DEMO_START_TIMEOUT seconds, or ebssh-api does not answer a first lookup,
# the demo says which piece, how it ended (its exit status) and the last 20
# lines of its log, stops everything else it started and exits 1. Building
# demo-env in moto is watched the same way (world.log). Each piece's output
# goes to its own log (aws.log, sshd1.log.., api.log) in a directory of its
# own: removed when the demo ends well or is interrupted, kept (and named)
# when it fails.
#
# Environment: DEMO_NONINTERACTIVE=1 (or no terminal) runs the steps without
# pausing; DEMO_PORT (default 2222); BUILD (default build); DEMO_SKIP_BUILD=1
# uses the programs as they are instead of running make; DEMO_AWS, the AWS
# backend: double (the default) or moto; DEMO_START_TIMEOUT, the seconds
# each piece has to become ready (default 15; 60 for moto's server and for
# building demo-env in it: moto takes seconds to import). With
# EBSSH_CALL_LOG set (the test runner sets it), moto's server notes every
# AWS request ebssh-api makes in $EBSSH_CALL_LOG/moto-<pid>.jsonl.
#
# Test hooks (tests/e2e/demo.sh breaks pieces on purpose with them):
# DEMO_AWS_DOUBLE=PROGRAM is run as "PROGRAM --port 0 --fixture FILE" in
# place of the AWS double, DEMO_SSHD=PROGRAM in place of /usr/sbin/sshd.
# ebssh-api and ebssh-proxy are BUILD's.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
PY=/usr/bin/python3
SSHD=${DEMO_SSHD:-/usr/sbin/sshd}
ENV_NAME=demo-env
API_KEY=demo-api-key-0123456789
IPS="127.0.0.2 127.0.0.3 127.0.0.4"
aws_mode=${DEMO_AWS:-double}
start_timeout=${DEMO_START_TIMEOUT:-15}
# moto's server imports for seconds before it listens, and building demo-env
# in it is a few dozen AWS requests: they get longer by default.
slow_timeout=${DEMO_START_TIMEOUT:-60}

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

case "$start_timeout" in
'' | *[!0-9]* | 0) die "DEMO_START_TIMEOUT=$start_timeout: want a number of seconds, at least 1" ;;
esac

# --- what the demo needs ------------------------------------------------------
missing=""
for p in "$SSHD" /usr/lib/openssh/sftp-server "$PY"; do
	[ -x "$p" ] || missing="$missing $p"
done
for c in ssh scp ssh-keygen curl; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
tools_py=""
case "$aws_mode" in
double)
	if [ -z "${DEMO_AWS_DOUBLE:-}" ] && [ -x "$PY" ] && ! "$PY" -c 'import botocore' 2>/dev/null; then
		missing="$missing python3-botocore"
	fi
	;;
moto)
	# The Python that has moto's server and boto3 (scripts/tools-python.sh
	# prints it, or nothing when no Python here has them).
	if ! tools_py=$("$root/scripts/tools-python.sh") || [ -z "$tools_py" ]; then
		die "DEMO_AWS=moto: no Python here has moto's server and boto3" \
			"(scripts/tools-python.sh found none; run: make deps)"
	fi
	;;
*) die "DEMO_AWS=$aws_mode: no such AWS backend (known: double, moto)" ;;
esac
[ -z "$missing" ] || die "missing:$missing (run: make deps)"

if [ "${DEMO_SKIP_BUILD:-}" != 1 ]; then
	say "demo: building what is missing (make -s)"
	"${MAKE:-make}" -s --no-print-directory -C "$root" BUILD="$build" all
fi
for p in ebssh-proxy ebssh-api; do
	[ -x "$build/$p" ] || die "no $build/$p (run: make)"
done

# --- the pieces it starts -------------------------------------------------------
# Each piece has a key (aws, sshd1, sshd2, sshd3, api), a name and a PID
# (piece_name_KEY, piece_pid_KEY), and a log, $logs/KEY.log, with its stdout
# and stderr. $pieces lists the keys, $pids the PIDs, in the order started.
# A job (building demo-env in moto: key world) is a piece that runs to its
# end: it has a name, a PID and a log, but is not in $pieces, and its PID
# leaves $pids once it has ended.
pieces=""
pids=""
told="" # a piece's failure has been told
p_pid="" p_name="" p_log="" # set by piece()

# launch KEY NAME COMMAND...: starts COMMAND in the background as KEY, its
# output in $logs/KEY.log, its PID in $pids (COMMAND is the process itself:
# a program, or a function that execs one).
launch() {
	# shellcheck disable=SC2034 # la_name is read in the eval
	la_key=$1 la_name=$2
	shift 2
	"$@" </dev/null >"$logs/$la_key.log" 2>&1 &
	eval "piece_pid_$la_key=\$! piece_name_$la_key=\$la_name piece_told_$la_key="
	pids="$pids $!"
}

# start_piece KEY NAME COMMAND...: launches COMMAND as piece KEY, to run
# until the demo ends.
start_piece() {
	launch "$@"
	pieces="$pieces $1"
	say "  started $2 (pid $!)"
}

# piece KEY: sets p_pid, p_name and p_log to piece KEY's.
piece() {
	eval "p_pid=\$piece_pid_$1 p_name=\$piece_name_$1"
	p_log="$logs/$1.log"
}

# alive PID: the process runs. An exited child nobody has waited for yet (a
# zombie) does not count, though kill -0 says yes to it: the shell reaps its
# children only now and then, and never from a $(...) subshell.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -e "/proc/$1/stat" ] || return 0
	{ read -r al_stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	al_stat=${al_stat##*) }
	[ "${al_stat%% *}" != Z ]
}

# show_log KEY: the last 20 lines of piece KEY's log, on stderr.
show_log() {
	piece "$1"
	if [ -s "$p_log" ]; then
		say "demo: the last lines of $p_name's log ($p_log):" >&2
		sl_text=$(tail -n 20 "$p_log") || sl_text="(tail could not read it)"
		sed 's/^/  | /' >&2 <<EOF
$sl_text
EOF
	else
		say "demo: $p_name's log ($p_log) is empty" >&2
	fi
}

# report KEY WHAT: says on stderr that piece KEY WHAT (e.g. "exited at
# start"), how it ended, and its log's last lines; once per piece.
report() {
	piece "$1"
	eval "[ -z \"\$piece_told_$1\" ]" || return 0
	eval "piece_told_$1=1"
	told=1
	if alive "$p_pid"; then
		rp_how="it was still running; stopping it"
	else
		rp_status=0
		wait "$p_pid" 2>/dev/null || rp_status=$?
		rp_how="exit status $rp_status"
		# The shell reports a kill by signal N as 128+N.
		if [ "$rp_status" -gt 128 ] && rp_sig=$(kill -l "$rp_status" 2>/dev/null); then
			rp_how="$rp_how: killed by SIG$rp_sig"
		fi
	fi
	say "demo: $p_name $2 ($rp_how)" >&2
	show_log "$1"
}

# fail KEY WHAT: report KEY WHAT, then stop the demo (the EXIT trap stops the
# rest and keeps the logs).
fail() {
	report "$@"
	exit 1
}

# check_pieces: every piece still runs; the first that does not stops the demo.
check_pieces() {
	for cp_key in $pieces; do
		piece "$cp_key"
		alive "$p_pid" || fail "$cp_key" "exited"
	done
}

# await KEY READY...: runs READY (in this shell: it may set variables) until
# it succeeds, watching piece KEY meanwhile: if KEY exits first, or READY
# still fails after $start_timeout seconds, stops the demo saying so.
await() { await_within "$start_timeout" "$@"; }

# await_within SECONDS KEY READY...: await, with SECONDS to get ready.
await_within() {
	aw_secs=$1 aw_key=$2
	shift 2
	piece "$aw_key"
	aw_pid=$p_pid
	aw_deadline=$(($(date +%s) + aw_secs))
	until "$@"; do
		alive "$aw_pid" || fail "$aw_key" "exited at start"
		[ "$(date +%s)" -lt "$aw_deadline" ] ||
			fail "$aw_key" "did not become ready within $aw_secs s"
		sleep 0.05
	done
}

# run_job KEY NAME WATCH SECONDS COMMAND...: launches COMMAND as job KEY and
# waits for its end, watching piece WATCH meanwhile. Stops the demo, saying
# so, when WATCH exits first, when COMMAND has not ended within SECONDS, or
# when it ends with a non-zero status (WATCH having exited by then is the
# better explanation, and told instead).
run_job() {
	rj_key=$1 rj_name=$2 rj_watch=$3 rj_secs=$4
	shift 4
	launch "$rj_key" "$rj_name" "$@"
	rj_pid=$!
	rj_deadline=$(($(date +%s) + rj_secs))
	piece "$rj_watch"
	rj_wpid=$p_pid
	while alive "$rj_pid"; do
		alive "$rj_wpid" || fail "$rj_watch" "exited"
		[ "$(date +%s)" -lt "$rj_deadline" ] || fail "$rj_key" "did not end within $rj_secs s"
		sleep 0.05
	done
	rj_status=0
	wait "$rj_pid" 2>/dev/null || rj_status=$?
	# Reaped: its PID may be anyone's now.
	rj_left=""
	for rj_p in $pids; do
		[ "$rj_p" = "$rj_pid" ] || rj_left="$rj_left $rj_p"
	done
	pids=$rj_left
	[ "$rj_status" = 0 ] && return 0
	alive "$rj_wpid" || fail "$rj_watch" "exited"
	told=1
	say "demo: $rj_name failed (exit status $rj_status)" >&2
	show_log "$rj_key"
	show_log "$rj_watch"
	exit 1
}

# has_line FILE REGEX: a line of FILE matches; sets line to the first.
has_line() {
	line=$(grep -E -m1 -- "$2" "$1" 2>/dev/null)
}

# --- clean up whatever happens --------------------------------------------------
work=""
logs=""
step_n=0
# cleanup STATUS [interrupted]: stops every piece (by PID), removes the
# directory; the logs too, unless the demo failed: then it says which piece
# no longer runs (if nothing said so yet) and where the logs are.
cleanup() {
	cl_status=$1
	trap - EXIT INT TERM HUP
	if [ "$cl_status" != 0 ] && [ -z "${2:-}" ]; then
		[ -n "$told" ] || [ "$step_n" = 0 ] || say "demo: step $step_n failed (exit status $cl_status)" >&2
		for cl_key in $pieces; do
			piece "$cl_key"
			alive "$p_pid" || report "$cl_key" "exited"
		done
	fi
	for pid in $pids; do
		kill "$pid" 2>/dev/null || :
	done
	for pid in $pids; do
		i=0
		while alive "$pid" && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	done
	[ -z "$work" ] || rm -rf "$work"
	say ""
	say "demo: stopped everything it started (pids:${pids:- none}) and removed $work"
	if [ -n "$logs" ]; then
		if [ "$cl_status" = 0 ] || [ -n "${2:-}" ] || [ -z "$(ls -A "$logs")" ]; then
			rm -rf "$logs"
		else
			say "demo: failed; the logs are kept in $logs" >&2
		fi
	fi
}
trap 'cleanup $?' EXIT
trap 'cleanup 130 interrupted; exit 130' INT
trap 'cleanup 143 interrupted; exit 143' TERM
trap 'cleanup 129 interrupted; exit 129' HUP
work=$(mktemp -d "${TMPDIR:-/tmp}/ebssh-demo.XXXXXX")
logs=$(mktemp -d "${TMPDIR:-/tmp}/ebssh-demo-logs.XXXXXX")

# Children get a private HOME and XDG directories, and nothing of the user's
# ssh-agent, AWS or ebssh settings.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$XDG_CONFIG_HOME/ebssh" "$XDG_CACHE_HOME"
chmod 700 "$HOME"
unset SSH_AUTH_SOCK EBSSH_ENDPOINT EBSSH_API_KEY AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_EC2 \
	AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN 2>/dev/null || :
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
user=$(id -un)

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

# is_open IP PORT: something answers there.
is_open() { [ "$(port_state "$1" "$2")" = open ]; }

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

# step TITLE EXPLANATION...: a heading and what is about to happen; pauses
# for Enter when interactive. Every piece must still run, before and after.
step() {
	check_pieces
	step_n=$((step_n + 1))
	say ""
	say "== Step $step_n: $1"
	shift
	for l in "$@"; do say "   $l"; done
	if [ "$interactive" = 1 ]; then
		printf '   [Enter to run it, Ctrl-C to stop] '
		read -r _ || :
		check_pieces
	fi
}

# show CMD...: prints the command as one would type it, then runs it.
show() {
	say "\$ $SHOW"
	"$@"
}

say "demo: working in $work (this script is pid $$)"

# --- the AWS backend -------------------------------------------------------------
# demo-env, one instance a line, in the order the backend is given them (not
# launch order: the lookups sort by launch time): its number (N: instance N,
# at 127.0.0.(N+1); 9 for the stopped one), state, launch time, zone, public
# IP (- for none), private IP, as both backends get it.
WORLD="3 running 2024-06-03T09:00:00.000Z us-east-1c 127.0.0.4 10.0.3.13
1 running 2024-06-01T09:00:00.000Z us-east-1a 127.0.0.2 10.0.1.11
9 stopped 2024-05-01T09:00:00.000Z us-east-1a - 10.0.1.19
2 running 2024-06-02T09:00:00.000Z us-east-1b 127.0.0.3 10.0.2.12"

# world_json BACKEND: $WORLD as the JSON BACKEND reads: the double's fixture
# (ids and zones ours), or moto_world.py's spec (moto makes the ids and picks
# the zones; a public IP is an Elastic IP, none is "public_ip": false).
world_json() {
	wj_sep=""
	printf '{"instances": [\n'
	while read -r wj_n wj_state wj_launched wj_az wj_public wj_private; do
		wj_tags="{\"elasticbeanstalk:environment-name\": \"$ENV_NAME\", \"Name\": \"$ENV_NAME\"}"
		if [ "$1" = double ]; then
			[ "$wj_public" = - ] && wj_public=null || wj_public="\"$wj_public\""
			printf '%s {"id": "i-0de0000000000000%s", "state": "%s", "launch_time": "%s", "az": "%s",\n' \
				"$wj_sep" "$wj_n" "$wj_state" "$wj_launched" "$wj_az"
		else
			[ "$wj_public" = - ] && wj_public=false || wj_public="\"$wj_public\""
			printf '%s {"state": "%s", "launch_time": "%s",\n' "$wj_sep" "$wj_state" "$wj_launched"
		fi
		printf '  "public_ip": %s, "private_ip": "%s", "tags": %s}\n' "$wj_public" "$wj_private" "$wj_tags"
		wj_sep=","
	done <<EOF
$WORLD
EOF
	printf ']}\n'
}

# aws_double ARGS...: execs the project's AWS double (or DEMO_AWS_DOUBLE).
aws_double() {
	[ -z "${DEMO_AWS_DOUBLE:-}" ] || exec "$DEMO_AWS_DOUBLE" "$@"
	exec "$PY" -B "$root/tests/doubles/aws_double.py" "$@"
}

# moto_server, moto_world ENDPOINT SPEC: exec moto's launcher, and the world
# builder (what it made, read back, on stdout: $work/world.out), under the
# tools' Python, with no AWS configuration file of the user's.
moto_server() {
	exec env AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		"$tools_py" -B "$root/tests/doubles/moto_server.py" --port 0
}
moto_world() {
	exec env AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		"$tools_py" -B "$root/tests/lib/moto_world.py" --endpoint "$1" "$2" >"$work/world.out"
}

# start_aws: starts the AWS backend DEMO_AWS names, as piece "aws", holding
# demo-env ($WORLD). Sets aws_endpoint (the EC2 endpoint's URL), aws_akid,
# aws_secret (credentials it accepts) and aws_what (what to call it in the
# steps), and writes $work/ids: the id of the instance at each of $IPS, one
# a line.
start_aws() {
	case "$aws_mode" in
	double)
		world_json double >"$work/fixture.json"
		say "demo: starting the AWS double (EC2 DescribeInstances on loopback, SigV4 checked)"
		start_piece aws "the AWS double" aws_double --port 0 --fixture "$work/fixture.json"
		await aws has_line "$logs/aws.log" '^PORT [0-9]+$'
		aws_endpoint="http://127.0.0.1:${line#PORT }"
		aws_akid=AKIDEXAMPLE
		aws_secret=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
		aws_what="the double"
		printf 'i-0de0000000000000%s\n' 1 2 3 >"$work/ids"
		;;
	moto)
		say "demo: starting moto's server (an AWS emulator nobody here wrote; $tools_py)"
		start_piece aws "moto's server" moto_server
		await_within "$slow_timeout" aws has_line "$logs/aws.log" '^PORT [0-9]+$'
		aws_endpoint="http://127.0.0.1:${line#PORT }"
		# moto takes any signature; these keys name its account 123456789012
		# (tests/lib/moto_aws.py).
		aws_akid=AKIAIOSFODNN7EXAMPLE
		aws_secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
		aws_what="moto"
		say "demo: building $ENV_NAME in it through EC2's API (tests/lib/moto_world.py)"
		world_json moto >"$work/world.json"
		run_job world "the world builder (tests/lib/moto_world.py)" aws "$slow_timeout" \
			moto_world "$aws_endpoint" "$work/world.json"
		moto_instances
		;;
	esac
}

# moto_instances: from what the world builder read back ($work/world.out),
# prints demo-env's instances and writes $work/ids, the ids of the running
# ones at $IPS; stops the demo if one of $IPS has not exactly one.
moto_instances() {
	mi_status=0
	# shellcheck disable=SC2086 # one argument per address
	"$PY" - "$work/world.out" "$work/ids" "$ENV_NAME" $IPS 2>"$work/world.err" <<'EOF' || mi_status=$?
import json, re, sys

world, ids_file, env, ips = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with open(world, encoding="utf-8") as f:
    instances = json.load(f)["instances"]
mine = [i for i in instances if i["tags"].get("elasticbeanstalk:environment-name") == env]
print(f"demo: {env} in moto's server, as DescribeInstances reads it back:")
for i in sorted(mine, key=lambda i: i["launch_time"]):
    print(f"  {i['id']}  {i['state']:<8} public {i['public_ip'] or '-':<10} private {i['private_ip']}"
          f"  launched {i['launch_time']}")
ids = []
for ip in ips:
    at = [i["id"] for i in mine if i["state"] == "running" and i["public_ip"] == ip]
    if len(at) != 1:
        sys.exit(f"{len(at)} running instances of {env} at {ip} ({' '.join(at) or 'none'}), not one")
    if not re.fullmatch(r"i-[0-9a-f]+", at[0]):
        sys.exit(f"the instance of {env} at {ip} has the id {at[0]!r}, not i- and hex digits")
    ids.append(at[0])
with open(ids_file, "w", encoding="utf-8") as f:
    f.write("".join(i + "\n" for i in ids))
EOF
	if [ "$mi_status" != 0 ]; then
		check_pieces
		told=1
		say "demo: moto's server does not hold $ENV_NAME as the demo needs it:" \
			"$(cat "$work/world.err")" >&2
		exit 1
	fi
}

port=${DEMO_PORT:-2222}
if [ "$port" = 0 ]; then
	port=$(free_port) || die "found no free port"
else
	for ip in $IPS; do
		if [ "$(port_state "$ip" "$port")" != free ]; then
			[ -z "${DEMO_PORT:-}" ] || die "port $port is in use on $ip; choose another with DEMO_PORT"
			port=$(free_port) || die "found no free port"
			say "demo: port 2222 is in use; using $port"
			break
		fi
	done
fi
[ -n "$port" ] || die "found no free port"

start_aws

# --- the instances ------------------------------------------------------------------
say "demo: starting three sshd \"instances\" on port $port"
ssh-keygen -q -t ed25519 -N "" -C "ebssh-demo" -f "$work/id_ed25519" </dev/null
cp "$work/id_ed25519.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
: >"$work/known_hosts"
n=0
for ip in $IPS; do
	n=$((n + 1))
	id=$(sed -n "${n}p" "$work/ids")
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
	start_piece "sshd$n" "sshd for $id on $ip:$port" "$SSHD" -D -e -f "$work/sshd$n.conf"
	# The known_hosts ssh will check: each instance's host key under the
	# names that reach it (we made the keys, so we know them).
	read -r key_type key_data _ <"$work/host$n.pub"
	names="[$ENV_NAME$n]:$port,[$ENV_NAME.$n]:$port"
	[ "$n" != 1 ] || names="[$ENV_NAME]:$port,$names"
	say "$names $key_type $key_data" >>"$work/known_hosts"
	await "sshd$n" is_open "$ip" "$port"
done

# --- the lookup service ---------------------------------------------------------------
say "demo: starting ebssh-api, the lookup service, against the AWS backend"
start_piece api "ebssh-api" env AWS_ACCESS_KEY_ID="$aws_akid" AWS_SECRET_ACCESS_KEY="$aws_secret" \
	AWS_REGION=us-east-1 AWS_ENDPOINT_URL_EC2="$aws_endpoint" \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	"$build/ebssh-api" --listen 127.0.0.1:0 --api-key "$API_KEY"
await api has_line "$logs/api.log" 'listening on [0-9.]+:[0-9]+'
api_port=${line##*listening on }
api_port=${api_port#*:}
api_port=${api_port%%[!0-9]*}
URL="http://127.0.0.1:$api_port"

# A first lookup, through ebssh-api to the AWS backend and back: every piece
# but the sshd is in it.
say "demo: a first lookup (GET /eb/$ENV_NAME/ip) to check that the pieces talk to each other"
# shellcheck disable=SC2086 # one line per address
want=$(printf '%s\n' $IPS)
why=""
first_http=$(curl -sS --max-time 30 -o "$work/first.txt" -w '%{http_code}' -H "x-api-key: $API_KEY" \
	"$URL/eb/$ENV_NAME/ip" 2>"$work/first.err") || why="curl could not ask it: $(cat "$work/first.err")"
if [ -z "$why" ]; then
	first_got=$(cat "$work/first.txt")
	if [ "$first_http" != 200 ]; then
		why="it answered HTTP $first_http: $first_got"
	elif [ "$first_got" != "$want" ]; then
		why="it answered $(tr '\n' ' ' <"$work/first.txt")instead of $IPS"
	fi
fi
if [ -n "$why" ]; then
	check_pieces # a piece that died is the better explanation
	say "demo: ebssh-api does not answer a lookup: $why" >&2
	show_log api
	show_log aws
	exit 1
fi
# The lookups ebssh-api has answered so far (the steps count theirs).
lookups_before=$(grep -c '"path":"/eb/' "$logs/api.log" || :)

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

check_pieces
say "demo: ready. The lookup service is $URL (API key $API_KEY)."

# --- the steps --------------------------------------------------------------------
step "ask the lookup service for $ENV_NAME's instances" \
	"ebssh-api asks EC2 (here $aws_what) for the running instances tagged" \
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
sent=$(sha256sum <"$work/hello.bin")
sent=${sent%% *}
got=$(sha256sum <"$work/back.bin")
got=${got%% *}
[ "$sent" = "$got" ] || die "the file came back different ($sent, $got)"
say "sha256 $got, sent and received: intact"
SHOW="ssh -F $work/ssh_config ${ENV_NAME}.3 'echo \$INSTANCE has the file'"
# shellcheck disable=SC2016
show ssh -F "$work/ssh_config" "${ENV_NAME}.3" 'echo $INSTANCE has the file' </dev/null

# Three of the requests since the first lookup were curl's; ebssh-proxy ran
# five times (--print, two ssh, two scp).
asked=$(($(grep -c '"path":"/eb/' "$logs/api.log" || :) - lookups_before - 3))
say ""
say "== Done. ebssh-proxy ran 5 times but asked ebssh-api only $asked times: its cache"
say "   ($XDG_CACHE_HOME/ebssh) answered the rest. For real use: deploy the"
say "   service (docs/deploy.md), put its endpoint and key in ~/.config/ebssh/config,"
say "   and add the Host block of ssh_config.example to ~/.ssh/config."
