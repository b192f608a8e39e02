#!/bin/sh
# `make demo` driven as a newcomer would: once to the end without a terminal
# (each step's expected output), then on a terminal (script(1) gives it a
# pty) interrupted with Ctrl-C at the second step's prompt, then sent
# SIGTERM while it waits at the first, then with its port taken. Every time,
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

# --- 1. to the end, no terminal ------------------------------------------------
out="$tmp/run.out"
demo_env DEMO_PORT=0 make -s --no-print-directory -C "$EBSSH_ROOT" demo </dev/null >"$out" 2>"$tmp/run.err"
rc=$?
cat "$tmp/run.err" >>"$out"
ok "$rc" "make demo without a terminal runs to the end, exit 0" "$out"
check "nothing on stderr" "$tmp/run.err" test ! -s "$tmp/run.err"
check "it started the AWS double, three sshd and ebssh-api, and printed their PIDs" "$out" \
	test "$(pids_of "$out" | wc -l)" -eq 5
check "seven steps, in order" "$out" \
	test "$(grep -E '^== Step [0-9]+: ' "$out" | cut -d: -f1 | tr '\n' ' ')" = \
	"== Step 1 == Step 2 == Step 3 == Step 4 == Step 5 == Step 6 == Step 7 "
check "step 1: curl /eb/demo-env/ip answers the three instances, oldest first" "$out" \
	after "$out" "\$ curl " 127.0.0.2 127.0.0.3 127.0.0.4
check "step 2: curl /eb/demo-env/ip/2 answers 127.0.0.3" "$out" \
	sh -c 'grep -A1 "^\$ curl .*/eb/demo-env/ip/2\$" "$1" | tail -n 1 | grep -qx 127.0.0.3' - "$out"
check "step 3: the JSON answer names the environment and the instance ids" "$out" \
	sh -c 'grep -q "\"environment\": \"demo-env\"" "$1" && grep -q "\"instance_id\": \"i-0de00000000000002\"" "$1"' - "$out"
check "step 4: ebssh-proxy --print demo-env2 prints 127.0.0.3" "$out" \
	after "$out" "\$ ebssh-proxy --print demo-env2" 127.0.0.3
check "step 5: the ssh_config shown uses ebssh-proxy and strict host key checking" "$out" \
	sh -c 'grep -qE "^    ProxyCommand /.*/ebssh-proxy %h %p\$" "$1" && grep -qx "    StrictHostKeyChecking yes" "$1"' - "$out"
check "step 6: ssh demo-env2 reaches instance 2" "$out" \
	sh -c 'grep -A1 "^\$ ssh .* demo-env2 " "$1" | tail -n 1 | grep -qx i-0de00000000000002' - "$out"
check "step 7: scp to demo-env.3 and back, intact, and the file is on instance 3" "$out" \
	sh -c 'grep -q "sent and received: intact\$" "$1" && grep -qx "i-0de00000000000003 has the file" "$1"' - "$out"
check "ebssh-proxy's cache: five runs, two lookups" "$out" \
	grep -q "ebssh-proxy ran 5 times but asked ebssh-api only 2 times" "$out"
check "it says it stopped everything" "$out" grep -q "^demo: stopped everything it started (pids: [0-9 ]*)" "$out"
check "no process it started survives; its directory is gone; HOME untouched" "$out" gone "$out"

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
make_demo="cd $(quote "$EBSSH_ROOT") && exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME=$(quote "$tmp/home") \
BUILD=$(quote "$EBSSH_BUILD") DEMO_SKIP_BUILD=1 DEMO_PORT=0 make -s --no-print-directory demo"

# --- 2. Ctrl-C at the second step's prompt ------------------------------------------
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

# --- 3. SIGTERM to the script while it waits at the first prompt -----------------------
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

# --- 4. the port taken -----------------------------------------------------------
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
