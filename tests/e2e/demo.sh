#!/bin/sh
# `make demo` driven as a newcomer would: to the end without a terminal, once
# against each AWS backend, the project's double and DEMO_AWS=moto (the same
# checks of each step's output; with moto, also that moto answered ebssh-api's
# DescribeInstances, by its call log); then with one piece broken on purpose
# (the script's test hooks, or a BUILD whose ebssh-api fails): the AWS double
# exiting at start, never saying its port, sending ebssh-api to a port nobody
# listens on, moto's server exiting at start, an sshd and ebssh-api exiting at
# start, an unknown DEMO_AWS, DEMO_AWS=moto with no tools' Python;
# each time the demo must stop at once, name the piece, how it ended and its
# log's last lines, and keep the logs; then on a terminal (script(1) gives it
# a pty) interrupted with Ctrl-C at the second step's prompt, then sent
# SIGTERM while it waits at the first, then with an sshd killed while it waits
# there (named at the next step), then with its port taken. Every time,
# no process it started survives (the PIDs it printed, and anything whose
# command line names its directory), its directory is gone, and the HOME it
# was given stays empty. Prints TAP.
# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments
set -u
: "${EBSSH_BUILD:?}" "${EBSSH_ROOT:?}"
PY=/usr/bin/python3
tmp=$(mktemp -d)
helper_pid=""
trap '[ -z "$helper_pid" ] || kill "$helper_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { # STATUS NAME [DETAIL FILE]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		if [ -n "${3:-}" ] && [ -f "$3" ]; then
			tail -n 40 "$3" | sed 's/^/#   /'
		fi
	fi
}
check() { # NAME DETAIL-FILE COMMAND...: ok when the command succeeds
	name=$1 detail=$2
	shift 2
	"$@" >/dev/null 2>&1
	ok $? "$name" "$detail"
}

for need in /usr/sbin/sshd "$EBSSH_BUILD/ebssh-proxy" "$EBSSH_BUILD/ebssh-api"; do
	if [ ! -x "$need" ]; then
		echo "ok 1 - make demo # SKIP no $need"
		echo "1..1"
		exit 0
	fi
done

# demo_env: the environment make demo runs in: an empty HOME of our own, the
# build under test, a free port, no make of ours around it.
mkdir -p "$tmp/home"
demo_env() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME="$tmp/home" BUILD="$EBSSH_BUILD" DEMO_SKIP_BUILD=1 \
		"$@"
}

# contains FILE TEXT: a line of FILE is exactly TEXT.
contains() { grep -qxF -- "$2" "$1"; }
# after FILE PREFIX LINES...: the lines right after the first line starting with PREFIX are LINES.
after() {
	f=$1 prefix=$2
	shift 2
	want=$(printf '%s\n' "$@")
	got=$(awk -v p="$prefix" -v k="$#" 'found && k-- > 0 { print } index($0, p) == 1 && !found { found = 1 }' "$f")
	[ "$got" = "$want" ]
}
# wait_text FILE REGEX [SECONDS]: until a line of FILE matches.
wait_text() {
	i=0
	while [ "$i" -lt $((${3:-30} * 10)) ]; do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# wait_count FILE TEXT N [SECONDS]: until N lines of FILE hold TEXT.
wait_count() {
	i=0
	while [ "$i" -lt $((${4:-30} * 10)) ]; do
		[ "$(grep -cF -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
pids_of() { sed -n 's/.*(pid \([0-9][0-9]*\))$/\1/p' "$1"; }
workdir_of() { sed -n 's/^demo: working in \(.*\) (this script is pid [0-9]*)$/\1/p' "$1" | head -n 1; }
# gone FILE: every PID the demo printed has exited, no process names its
# directory, the directory is removed and HOME is still empty.
gone() {
	out=$1
	work=$(workdir_of "$out")
	[ -n "$work" ] || return 1
	for pid in $(pids_of "$out"); do
		if kill -0 "$pid" 2>/dev/null; then
			echo "pid $pid is still there: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >>"$out"
			return 1
		fi
	done
	for f in /proc/[0-9]*/cmdline; do
		if grep -qF -- "$work" "$f" 2>/dev/null; then
			echo "still running: $(tr '\0' ' ' <"$f")" >>"$out"
			return 1
		fi
	done
	[ ! -e "$work" ] && [ -z "$(ls -A "$tmp/home")" ]
}

# --- 1. to the end, no terminal, against each backend ----------------------------
# listed OUT: the instances of step 3's JSON answer, one line each: index, ip,
# instance id, launch time (nothing when there is no such answer).
listed() {
	"$PY" - "$1" <<'EOF' 2>/dev/null
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
start = next(n for n, l in enumerate(lines) if l.startswith("$ curl ") and "Accept: application/json" in l) + 1
end = lines.index("}", start) + 1
for i in json.loads("\n".join(lines[start:end]))["instances"]:
    print(i["index"], i["ip"], i["instance_id"], i["launch_time"])
EOF
}
# id_at OUT N: the instance id step 3's answer gives instance N.
id_at() { listed "$1" | awk -v n="$2" '$1 == n { print $3 }'; }

# walked LABEL OUT ERR RC: the checks of a demo run to the end without a
# terminal (its stdout in OUT, stderr in ERR, exit status RC), whatever the
# backend: each step's output, the ssh and scp landing on the sshd of the
# instance the lookup answered, the cache, and nothing left behind. The ids
# are the ones the lookup answered (step 3), so that both backends' are
# checked the same way.
walked() {
	label=$1 out=$2 err=$3 rc=$4
	cat "$err" >>"$out"
	ok "$rc" "$label without a terminal runs to the end, exit 0" "$out"
	check "$label: nothing on stderr" "$err" test ! -s "$err"
	check "$label: it started the AWS backend, three sshd and ebssh-api, and printed their PIDs" "$out" \
		test "$(pids_of "$out" | wc -l)" -eq 5
	check "$label: seven steps, in order" "$out" \
		test "$(grep -E '^== Step [0-9]+: ' "$out" | cut -d: -f1 | tr '\n' ' ')" = \
		"== Step 1 == Step 2 == Step 3 == Step 4 == Step 5 == Step 6 == Step 7 "
	check "$label: step 1: curl /eb/demo-env/ip answers the three instances, oldest first" "$out" \
		after "$out" "\$ curl " 127.0.0.2 127.0.0.3 127.0.0.4
	check "$label: step 2: curl /eb/demo-env/ip/2 answers 127.0.0.3" "$out" \
		sh -c 'grep -A1 "^\$ curl .*/eb/demo-env/ip/2\$" "$1" | tail -n 1 | grep -qx 127.0.0.3' - "$out"
	id2=$(id_at "$out" 2)
	id3=$(id_at "$out" 3)
	check "$label: step 3: the JSON answer names the environment and three instances at .2, .3, .4, launched in that order, with ids" "$out" \
		sh -c 'grep -q "\"environment\": \"demo-env\"" "$1" &&
			[ "$(printf "%s\n" "$2" | cut -d" " -f1,2 | tr "\n" " ")" = "1 127.0.0.2 2 127.0.0.3 3 127.0.0.4 " ] &&
			[ "$(printf "%s\n" "$2" | cut -d" " -f4)" = "$(printf "%s\n" "$2" | cut -d" " -f4 | sort -u)" ] &&
			[ "$(printf "%s\n" "$2" | cut -d" " -f3 | grep -c "^i-[0-9a-f]\{1,\}$")" -eq 3 ] &&
			[ "$(printf "%s\n" "$2" | cut -d" " -f3 | sort -u | wc -l)" -eq 3 ]' - "$out" "$(listed "$out")"
	check "$label: the sshd on 127.0.0.3 and .4 were told the ids the lookup answers there" "$out" \
		sh -c '[ -n "$2" ] && [ -n "$3" ] &&
			grep -qE "^  started sshd for $2 on 127\.0\.0\.3:[0-9]+ \(pid [0-9]+\)$" "$1" &&
			grep -qE "^  started sshd for $3 on 127\.0\.0\.4:[0-9]+ \(pid [0-9]+\)$" "$1"' - "$out" "$id2" "$id3"
	check "$label: step 4: ebssh-proxy --print demo-env2 prints 127.0.0.3" "$out" \
		after "$out" "\$ ebssh-proxy --print demo-env2" 127.0.0.3
	check "$label: step 5: the ssh_config shown uses ebssh-proxy and strict host key checking" "$out" \
		sh -c 'grep -qE "^    ProxyCommand /.*/ebssh-proxy %h %p\$" "$1" && grep -qx "    StrictHostKeyChecking yes" "$1"' - "$out"
	check "$label: step 6: ssh demo-env2 reaches instance 2 ($id2)" "$out" \
		sh -c '[ -n "$2" ] && grep -A1 "^\$ ssh .* demo-env2 " "$1" | tail -n 1 | grep -qxF -- "$2"' - "$out" "$id2"
	check "$label: step 7: scp to demo-env.3 and back, intact, and the file is on instance 3 ($id3)" "$out" \
		sh -c '[ -n "$2" ] && grep -q "sent and received: intact\$" "$1" && grep -qxF -- "$2 has the file" "$1"' - "$out" "$id3"
	check "$label: ebssh-proxy's cache: five runs, two lookups" "$out" \
		grep -q "ebssh-proxy ran 5 times but asked ebssh-api only 2 times" "$out"
	check "$label: it says it stopped everything" "$out" grep -q "^demo: stopped everything it started (pids: [0-9 ]*)" "$out"
	check "$label: no process it started survives; its directory is gone; HOME untouched" "$out" gone "$out"
	check "$label: it keeps no logs when all went well" "$out" sh -c '! grep -q "logs are kept" "$1"' - "$out"
}

out="$tmp/run.out"
demo_env DEMO_PORT=0 make -s --no-print-directory -C "$EBSSH_ROOT" demo </dev/null >"$out" 2>"$tmp/run.err"
walked "make demo" "$out" "$tmp/run.err" $?
check "make demo: the AWS double answered: step 1 says so, the ids are its fixture's" "$out" \
	sh -c 'grep -qx "   ebssh-api asks EC2 (here the double) for the running instances tagged" "$1" &&
		[ "$2" = i-0de00000000000002 ] && [ "$3" = i-0de00000000000003 ]' - "$out" "$(id_at "$out" 2)" "$(id_at "$out" 3)"

# DEMO_AWS=moto: the same walk, against moto's server. Its call log goes to
# the run's (tests/run's EBSSH_CALL_LOG), or ours when run alone.
tools_py=${EBSSH_TOOLS_PYTHON:-$("$EBSSH_ROOT/scripts/tools-python.sh")}
if [ -z "$tools_py" ]; then
	ok 0 "DEMO_AWS=moto make demo # SKIP no tools' Python (scripts/tools-python.sh; make deps)"
else
	calls=${EBSSH_CALL_LOG:-$tmp/calls}
	mkdir -p "$calls"
	out="$tmp/moto.out"
	demo_env DEMO_AWS=moto DEMO_PORT=0 EBSSH_CALL_LOG="$calls" make -s --no-print-directory -C "$EBSSH_ROOT" demo \
		</dev/null >"$out" 2>"$tmp/moto.err"
	walked "DEMO_AWS=moto make demo" "$out" "$tmp/moto.err" $?
	id2=$(id_at "$out" 2)
	id3=$(id_at "$out" 3)
	check "DEMO_AWS=moto: moto's server was started, step 1 says moto answers" "$out" \
		sh -c 'grep -qE "^  started moto.s server \(pid [0-9]+\)$" "$1" &&
			grep -qx "   ebssh-api asks EC2 (here moto) for the running instances tagged" "$1"' - "$out"
	check "DEMO_AWS=moto: the ids are moto's (i- and 17 hex digits), none of the double's" "$out" \
		sh -c 'for id in "$1" "$2"; do printf "%s\n" "$id" | grep -qx "i-[0-9a-f]\{17\}" || exit 1; done
			! grep -q "i-0de0000000000000" "$3"' - "$id2" "$id3" "$out"
	# The world as the demo printed it (moto's DescribeInstances, read back
	# by the world builder), by launch time: one stopped instance, then the
	# three running ones the lookup answered, at their addresses.
	sed -n '/^demo: demo-env in moto.s server, as DescribeInstances reads it back:$/,/^demo: starting three sshd/p' "$out" |
		sed -n 's/^  \(i-[0-9a-f]*\)  *\([a-z]*\)  *public \([0-9.-]*\) .*/\1 \2 \3/p' >"$tmp/world.got"
	{
		head -n 1 "$tmp/world.got" | awk '$2 == "stopped" && $3 == "-"'
		listed "$out" | awk '{ print $3, "running", $2 }'
	} >"$tmp/world.want"
	check "DEMO_AWS=moto: the world it printed: one stopped instance, then the lookup's three running ones" "$out" \
		sh -c '[ "$(wc -l <"$1")" -eq 4 ] && cmp -s "$1" "$2"' - "$tmp/world.got" "$tmp/world.want"
	moto_pid=$(sed -n "s/^  started moto's server (pid \([0-9]*\))\$/\1/p" "$out")
	check "DEMO_AWS=moto: moto's call log shows it answered ebssh-api's DescribeInstances, and nothing else" \
		"$calls/moto-$moto_pid.jsonl" "$PY" - "$calls/moto-$moto_pid.jsonl" "${EBSSH_SUITE:-}" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = {"double": "moto", "suite": sys.argv[2], "service": "ec2", "action": "DescribeInstances", "status": 200}
sys.exit(not (lines and all(l.pop("user_agent", "").startswith("ebssh/") and l == want for l in lines)))
EOF
fi

# --- 2. a piece that fails at start ---------------------------------------------------
# broken OUT ENV...: make demo with ENV, no terminal, its temporary
# directories under $tmp/tmpdir; timeout(1) stops it after 120 s if it hangs.
# Sets rc.
mkdir -p "$tmp/tmpdir" "$tmp/bin"
broken() {
	out=$1
	shift
	demo_env TMPDIR="$tmp/tmpdir" DEMO_PORT=0 DEMO_NONINTERACTIVE=1 "$@" \
		timeout -k 5 120 make -s --no-print-directory -C "$EBSSH_ROOT" demo </dev/null >"$out" 2>&1
	rc=$?
}
# fails_cleanly LABEL OUT MESSAGE KEY LOGLINE: the demo whose output is OUT
# exited non-zero on its own (timeout(1) did not stop it), printed a line
# matching MESSAGE and, quoted, a line of piece KEY's log matching LOGLINE
# (both extended regexes), never said ready, left nothing running, and kept
# its logs where it said (KEY.log has LOGLINE; removed here once checked).
fails_cleanly() {
	label=$1 out=$2 message=$3 key=$4 logline=$5
	check "$label: exits non-zero, and did not hang" "$out" \
		sh -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ] && [ "$1" -ne 137 ]' - "$rc"
	check "$label: names the piece and how it ended" "$out" grep -qE -- "$message" "$out"
	check "$label: prints the last lines of its log" "$out" grep -qE -- "^  \| .*$logline" "$out"
	check "$label: never says ready, runs no step" "$out" sh -c '! grep -qE "^demo: ready|^== Step" "$1"' - "$out"
	check "$label: nothing it started is left running; its directory is gone" "$out" gone "$out"
	kept=$(sed -n 's/^demo: failed; the logs are kept in //p' "$out")
	check "$label: keeps the logs and says where" "$out" \
		sh -c '[ -n "$1" ] && [ -d "$1" ] && grep -qE -- "$3" "$1/$2.log"' - "$kept" "$key" "$logline"
	[ -z "$kept" ] || rm -rf "$kept"
}

# The AWS double exits at once after 30 lines on stderr. A start timeout of
# 600 s: the demo must notice the exit, not wait the time out.
cat >"$tmp/bin/broken-aws" <<'EOF'
#!/bin/sh
i=1
while [ "$i" -le 30 ]; do
	echo "broken-aws: line $i" >&2
	i=$((i + 1))
done
exit 3
EOF
chmod +x "$tmp/bin/broken-aws"
broken "$tmp/aws-dies.out" DEMO_AWS_DOUBLE="$tmp/bin/broken-aws" DEMO_START_TIMEOUT=600
fails_cleanly "the AWS double exits at start" "$tmp/aws-dies.out" \
	'^demo: the AWS double exited at start \(exit status 3\)$' aws 'broken-aws: line 30$'
check "the AWS double exits at start: its last 20 lines, not more" "$tmp/aws-dies.out" \
	sh -c 'grep -qx "  | broken-aws: line 11" "$1" && ! grep -qx "  | broken-aws: line 10" "$1"' - "$tmp/aws-dies.out"
check "the AWS double exits at start: nothing else was started" "$tmp/aws-dies.out" \
	test "$(pids_of "$tmp/aws-dies.out" | wc -l)" -eq 1

# The AWS double runs but never says its port.
cat >"$tmp/bin/stuck-aws" <<'EOF'
#!/bin/sh
echo "stuck-aws: never says PORT" >&2
exec sleep 300
EOF
chmod +x "$tmp/bin/stuck-aws"
broken "$tmp/aws-stuck.out" DEMO_AWS_DOUBLE="$tmp/bin/stuck-aws" DEMO_START_TIMEOUT=2
fails_cleanly "the AWS double never gets ready" "$tmp/aws-stuck.out" \
	'^demo: the AWS double did not become ready within 2 s \(it was still running; stopping it\)$' \
	aws 'stuck-aws: never says PORT$'

# The AWS double says a port nobody listens on: every piece starts, but
# ebssh-api cannot reach AWS (the issue's "ready", then AwsUnreachable).
cat >"$tmp/bin/unreachable-aws" <<EOF
#!/bin/sh
port=\$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "PORT \$port"
echo "unreachable-aws: said PORT \$port, listens on nothing" >&2
exec sleep 300
EOF
chmod +x "$tmp/bin/unreachable-aws"
broken "$tmp/aws-unreachable.out" DEMO_AWS_DOUBLE="$tmp/bin/unreachable-aws" DEMO_START_TIMEOUT=600
fails_cleanly "AWS unreachable" "$tmp/aws-unreachable.out" \
	'^demo: ebssh-api does not answer a lookup: it answered HTTP 502: .*"AwsUnreachable"' \
	api '"path":"/eb/demo-env/ip","status":502,'
check "AWS unreachable: the AWS double's log is shown too" "$tmp/aws-unreachable.out" \
	grep -qE '^  \| unreachable-aws: said PORT [0-9]+, listens on nothing$' "$tmp/aws-unreachable.out"

# The second sshd exits at start; the first one and the AWS double run.
cat >"$tmp/bin/sshd-but-3" <<'EOF'
#!/bin/sh
# /usr/sbin/sshd, but the one on 127.0.0.3 fails as a misconfigured sshd does.
for conf; do :; done
if grep -q '^ListenAddress 127\.0\.0\.3:' "$conf"; then
	echo "sshd-but-3: $conf: line 1: Bad configuration option: Injected" >&2
	exit 255
fi
exec /usr/sbin/sshd "$@"
EOF
chmod +x "$tmp/bin/sshd-but-3"
broken "$tmp/sshd-dies.out" DEMO_SSHD="$tmp/bin/sshd-but-3" DEMO_START_TIMEOUT=600
fails_cleanly "an sshd exits at start" "$tmp/sshd-dies.out" \
	'^demo: sshd for i-0de00000000000002 on 127\.0\.0\.3:[0-9]+ exited at start \(exit status 255\)$' \
	sshd2 'sshd-but-3: .*: Bad configuration option: Injected$'
check "an sshd exits at start: the AWS double and the first sshd had started" "$tmp/sshd-dies.out" \
	test "$(pids_of "$tmp/sshd-dies.out" | wc -l)" -eq 3

# ebssh-api exits at start: a build whose ebssh-api fails.
mkdir -p "$tmp/build"
ln -s "$EBSSH_BUILD/ebssh-proxy" "$tmp/build/ebssh-proxy"
cat >"$tmp/build/ebssh-api" <<'EOF'
#!/bin/sh
echo "ebssh-api: cannot listen on 127.0.0.1:0: Injected failure" >&2
exit 1
EOF
chmod +x "$tmp/build/ebssh-api"
broken "$tmp/api-dies.out" BUILD="$tmp/build" DEMO_START_TIMEOUT=600
fails_cleanly "ebssh-api exits at start" "$tmp/api-dies.out" \
	'^demo: ebssh-api exited at start \(exit status 1\)$' api 'ebssh-api: cannot listen on 127\.0\.0\.1:0: Injected failure$'
check "ebssh-api exits at start: the four pieces before it had started" "$tmp/api-dies.out" \
	test "$(pids_of "$tmp/api-dies.out" | wc -l)" -eq 5

# moto's server exits at start: its launcher cannot open its call log.
if [ -n "$tools_py" ]; then
	broken "$tmp/moto-dies.out" DEMO_AWS=moto EBSSH_CALL_LOG="$tmp/no-such-dir" DEMO_START_TIMEOUT=600
	fails_cleanly "moto's server exits at start" "$tmp/moto-dies.out" \
		"^demo: moto's server exited at start \\(exit status 1\\)\$" aws \
		"FileNotFoundError: .*: '$tmp/no-such-dir/moto-[0-9]+\\.jsonl'\$"
	check "moto's server exits at start: nothing else was started" "$tmp/moto-dies.out" \
		test "$(pids_of "$tmp/moto-dies.out" | wc -l)" -eq 1
else
	ok 0 "moto's server exits at start # SKIP no tools' Python"
fi

broken "$tmp/aws-unknown.out" DEMO_AWS=nonesuch
check "DEMO_AWS=nonesuch: says so, exits non-zero, starts nothing" "$tmp/aws-unknown.out" \
	sh -c '[ "$2" -ne 0 ] && grep -qx "demo: DEMO_AWS=nonesuch: no such AWS backend (known: double, moto)" "$1" &&
		! grep -q "started" "$1"' - "$tmp/aws-unknown.out" "$rc"

# DEMO_AWS=moto where no Python has moto: with only the system's directories
# on PATH, scripts/tools-python.sh finds none unless make deps made a virtual
# environment (build/pyvenv) of the checkout.
sys_path=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# EBSSH_TOOLS_PYTHON (tests/run's finding) is emptied, and HOME is the
# demo's own (no ~/.pyenv there).
if EBSSH_TOOLS_PYTHON= HOME="$tmp/home" PATH=$sys_path "$EBSSH_ROOT/scripts/tools-python.sh" >/dev/null; then
	ok 0 "DEMO_AWS=moto with no tools' Python # SKIP a Python on $sys_path has moto"
else
	broken "$tmp/moto-none.out" DEMO_AWS=moto PATH="$sys_path" EBSSH_TOOLS_PYTHON=
	check "DEMO_AWS=moto with no tools' Python: says to run make deps, exits non-zero, starts nothing" "$tmp/moto-none.out" \
		sh -c '[ "$2" -ne 0 ] && grep -qx "demo: DEMO_AWS=moto: no Python here has moto.s server and boto3 (scripts/tools-python.sh found none; run: make deps)" "$1" &&
			! grep -q "started" "$1"' - "$tmp/moto-none.out" "$rc"
fi
check "the failed demos left nothing in TMPDIR but the logs they named" "$tmp/tmpdir" \
	test -z "$(ls -A "$tmp/tmpdir")"

if ! command -v script >/dev/null 2>&1; then
	ok 0 "interrupted on a terminal # SKIP no script(1)"
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi

# on_tty OUT COMMAND: runs COMMAND on a pty (script -e), the keystrokes from stdin.
on_tty() {
	out=$1
	shift
	script -qfec "$*" /dev/null >"$out" 2>&1
}
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
mkdir -p "$tmp/tmpdir-tty"
make_demo="cd $(quote "$EBSSH_ROOT") && exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME=$(quote "$tmp/home") \
TMPDIR=$(quote "$tmp/tmpdir-tty") BUILD=$(quote "$EBSSH_BUILD") DEMO_SKIP_BUILD=1 DEMO_PORT=0 make -s --no-print-directory demo"

# --- 3. Ctrl-C at the second step's prompt ------------------------------------------
out="$tmp/int.out"
{
	wait_text "$out" 'Enter to run it' && printf '\n'
	wait_count "$out" 'Enter to run it' 2
	printf '\003'
	wait_text "$out" 'stopped everything' 20
	sleep 0.2
} | on_tty "$out" "$make_demo"
rc=$?
tr -d '\r' <"$out" >"$out.txt" && out="$out.txt"
check "on a terminal it waits for Enter; step 1 ran" "$out" after "$out" "\$ curl " 127.0.0.2 127.0.0.3 127.0.0.4
check "Ctrl-C at step 2's prompt: step 2 never ran, make demo exits non-zero" "$out" \
	sh -c '[ "$2" -ne 0 ] && grep -q "== Step 2: " "$1" && ! grep -q "^\$ curl .*/ip/2" "$1"' - "$out" "$rc"
check "Ctrl-C: it says it stopped everything" "$out" grep -q "^demo: stopped everything it started" "$out"
check "Ctrl-C: no process it started survives; its directory is gone" "$out" gone "$out"

# --- 4. SIGTERM to the script while it waits at the first prompt -----------------------
out="$tmp/term.out"
{
	wait_text "$out" 'Enter to run it' &&
		kill -TERM "$(sed -n 's/.*(this script is pid \([0-9]*\)).*/\1/p' "$out" | head -n 1)"
	wait_text "$out" 'stopped everything' 20
	sleep 0.2
} | on_tty "$out" "$make_demo"
rc=$?
tr -d '\r' <"$out" >"$out.txt" && out="$out.txt"
check "SIGTERM at step 1's prompt: stops everything, exits non-zero" "$out" \
	sh -c '[ "$2" -ne 0 ] && grep -q "^demo: stopped everything it started" "$1"' - "$out" "$rc"
check "SIGTERM: no process it started survives; its directory is gone" "$out" gone "$out"
check "interrupted, it keeps no logs: nothing of it is left in TMPDIR" "$out" test -z "$(ls -A "$tmp/tmpdir-tty")"

# --- 5. an sshd killed while the demo waits at the first prompt ---------------------
out="$tmp/killed.out"
{
	wait_text "$out" 'Enter to run it' &&
		kill "$(sed -n 's/.*started sshd for i-0de00000000000002 .*(pid \([0-9]*\)).*/\1/p' "$out" | head -n 1)"
	printf '\n'
	wait_text "$out" 'stopped everything' 20
	sleep 0.2
} | on_tty "$out" "$make_demo"
rc=$?
tr -d '\r' <"$out" >"$out.txt" && out="$out.txt"
check "an sshd killed during the demo: named at the next step, exits non-zero" "$out" \
	sh -c '[ "$2" -ne 0 ] &&
		grep -qE "^demo: sshd for i-0de00000000000002 on 127\.0\.0\.3:[0-9]+ exited \(exit status [0-9]+" "$1" &&
		! grep -q "^== Step 2: " "$1"' - "$out" "$rc"
check "an sshd killed during the demo: nothing left running; its directory is gone" "$out" gone "$out"
kept=$(sed -n 's/^demo: failed; the logs are kept in //p' "$out")
check "an sshd killed during the demo: its log is kept" "$out" test -n "$kept" -a -s "$kept/sshd2.log"
[ -z "$kept" ] || rm -rf "$kept"

# --- 6. the port taken -----------------------------------------------------------
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.3", 0)); print(s.getsockname()[1])')
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.3", int(sys.argv[1]))); s.listen(1); print("up", flush=True); time.sleep(60)' "$port" \
	>"$tmp/listener.out" &
helper_pid=$!
wait_text "$tmp/listener.out" '^up$' 10
out="$tmp/port.out"
demo_env DEMO_PORT="$port" DEMO_NONINTERACTIVE=1 make -s --no-print-directory -C "$EBSSH_ROOT" demo \
	</dev/null >"$out" 2>&1
rc=$?
check "DEMO_PORT in use: one clear message, exit non-zero" "$out" \
	sh -c '[ "$2" -ne 0 ] && grep -q "^demo: port $3 is in use on 127.0.0.3" "$1"' - "$out" "$rc" "$port"
check "DEMO_PORT in use: nothing left behind" "$out" gone "$out"
kill "$helper_pid" 2>/dev/null
wait "$helper_pid" 2>/dev/null
helper_pid=""

echo "1..$n"
[ "$failed" -eq 0 ]
