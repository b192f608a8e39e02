#!/bin/sh
# Installs, from Debian's packages, what the build, the tests and the demo need
# (and the arm64 cross build: dpkg multiarch, qemu-user-static),
# then the npm tools pinned in tools/package-lock.json (the OpenAPI linter) and
# tests/node/package-lock.json (Google's Node storage client, for the GCS double)
# and bench/node/package-lock.json (the Node clients of the S3 -> GCS bench),
# then, only when no Python on the machine has them, the Python tools of
# tests/requirements-tools.txt (moto, boto3, cfn-lint, openapi-spec-validator)
# into a virtual environment under build/pyvenv, and Debian's source package
# of curl and OpenSSL into .deps/src (a deb-src entry added when the machine
# has none) for the lean libcurl and OpenSSL (scripts/curl-lean.sh,
# scripts/openssl-lean.sh).
# Idempotent: quiet and quick when everything is already there; one
# `apt-get update` when something is missing; sudo when not root.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES="
  build-essential pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libjansson-dev libssl-dev libssh2-1-dev
  libexpat1-dev libmicrohttpd-dev
  openssh-server openssh-client rsync socat curl
  python3 python3-botocore python3-boto3 python3-yaml python3-cryptography
  zip unzip patchelf valgrind wrk hyperfine tzdata dpkg-dev
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# arm64 (make package ARCH=arm64, tests/integration/package_arm64.py): Debian's
# cross compiler, bootstrap's libraries for arm64 (multiarch: the :arm64 -dev
# packages sit beside the machine's own), and qemu-user-static to run the
# package. The arm64 architecture is added to dpkg once.
ARM64_PACKAGES="
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  libssl-dev:arm64 libjansson-dev:arm64 libexpat1-dev:arm64 zlib1g-dev:arm64
"
# No libcurl: the Makefile cross-builds the lean static one (scripts/curl-lean.sh
# with aarch64-linux-gnu) from the source below.
missing=""
for p in $ARM64_PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		$SUDO dpkg --add-architecture arm64
	fi
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian's source packages of curl and OpenSSL, for the lean libcurl and the
# lean OpenSSL (scripts/curl-lean.sh, scripts/openssl-lean.sh; the Makefile
# builds them into build/curl-<arch>/ and build/openssl-<arch>/): a deb-src
# entry (a copy of debian.sources' entries with "Types: deb-src", in its own
# file, only when the machine has no deb-src at all), then `apt-get source
# PACKAGE` (dpkg-source unpacks it with Debian's patches applied) into
# .deps/src/ at the checkout's root (gitignored; make clean keeps it). Each is
# fetched again when apt knows a newer source version than the one there
# (after an `apt-get update`: a Debian security update), its old one removed:
# docs/deploy.md, "Security updates".
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
has_deb_src() {
	grep -Eqs '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}
if ! has_deb_src; then
	[ -f /etc/apt/sources.list.d/debian.sources ] ||
		{ echo "deps: no deb-src entry and no /etc/apt/sources.list.d/debian.sources to copy one from" >&2; exit 1; }
	echo "deps: adding /etc/apt/sources.list.d/ebssh-src.sources (deb-src), apt-get update"
	sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
		$SUDO tee /etc/apt/sources.list.d/ebssh-src.sources >/dev/null
	$SUDO apt-get update -qq
fi
src="$root/.deps/src"
fetch_source() { # $1: a source package's name (curl, openssl)
	# The source version apt would fetch: its .dsc's name, <name>_<version>.dsc.
	want_dsc=$(cd / && apt-get source --print-uris -qq "$1" 2>/dev/null |
		sed -n "s/^'[^']*' \($1_[^ ]*\.dsc\) .*/\1/p" | head -n 1)
	if [ -z "$want_dsc" ]; then
		echo "deps: apt knows no source package of $1 (apt-get update?)" >&2
		exit 1
	fi
	if { [ -f "$src/$want_dsc" ] || [ -f "$src/$want_dsc.orig-only" ]; } &&
		ls -d "$src/$1"-*/ >/dev/null 2>&1; then
		return 0
	fi
	echo "deps: fetching Debian's $1 source (${want_dsc%.dsc}) into .deps/src"
	new="$src.new-$1"
	rm -rf "$new"
	mkdir -p "$new"
	# As root apt warns that it cannot drop to user _apt in this directory.
	if ! (cd "$new" && apt-get source -qq "$1" >"$new.log" 2>&1); then
		# A mirror may lack a security update's .dsc and .debian.tar.xz
		# while it has its upstream tarball (this machine's lacks
		# openssl's): the tarball then, unpacked without Debian's patches,
		# its Debian version in EBSSH-DEBIAN-VERSION (the Makefile rebuilds
		# by it, --version says "upstream tarball").
		orig=""
		for f in "$new/$1"_*.orig.tar.*; do
			case "$f" in *.asc) ;; *) [ -f "$f" ] && orig=$f ;; esac
		done
		tree=""
		if [ -n "$orig" ] && tar -C "$new" -xf "$orig" 2>>"$new.log"; then
			for d in "$new/$1"-*/; do [ -d "$d" ] && tree=$d; done
		fi
		if [ -z "$tree" ]; then
			cat "$new.log" >&2
			rm -rf "$new" "$new.log"
			exit 1
		fi
		echo "deps: apt could not fetch Debian's $1 .dsc and patches; using its upstream tarball $(basename "$orig") without them"
		v=${want_dsc#"$1"_}
		echo "${v%.dsc}" >"${tree}EBSSH-DEBIAN-VERSION"
		: >"$new/$want_dsc.orig-only"
	fi
	# The old version's files and tree (only this package's), then the new.
	mkdir -p "$src"
	rm -rf "$new.log" "$src/$1"_* "$src/$1"-*/
	mv "$new"/* "$src"/
	rmdir "$new"
}
fetch_source curl
fetch_source openssl

# The OpenAPI linter (tests/integration/openapi_lint.sh): the exact version
# tools/package-lock.json pins, into tools/node_modules. Needs npm: Debian's
# nodejs and npm when the machine has no npm of its own.
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	echo "deps: installing nodejs npm"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
linter_version() { # the version of @stoplight/spectral-cli in file $1, or nothing
	node -e 'try { const j = require(process.argv[1]);
		const p = j.packages ? j.packages["node_modules/@stoplight/spectral-cli"] : j;
		process.stdout.write(p && p.version ? p.version : ""); } catch (e) {}' "$1"
}
want=$(linter_version "$root/tools/package-lock.json")
have=$(linter_version "$root/tools/node_modules/@stoplight/spectral-cli/package.json")
if [ -z "$want" ]; then
	echo "deps: tools/package-lock.json does not pin @stoplight/spectral-cli" >&2
	exit 1
fi
if [ ! -x "$root/tools/node_modules/.bin/spectral" ] || [ "$have" != "$want" ]; then
	echo "deps: installing @stoplight/spectral-cli $want (npm ci in tools/)"
	(cd "$root/tools" && npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null)
fi

# Google's Node client, pinned in tests/node/package-lock.json, proving the
# GCS double (tests/integration/gcs_double.py): npm ci only when
# tests/node/node_modules is missing or older than the lock file.
if [ ! -d "$root/tests/node/node_modules/@google-cloud/storage" ] ||
	[ "$root/tests/node/package-lock.json" -nt "$root/tests/node/node_modules/.package-lock.json" ]; then
	echo "deps: installing tests/node (npm ci: @google-cloud/storage)"
	npm ci --prefix "$root/tests/node" --silent --no-audit --no-fund --loglevel=error >/dev/null
fi

# The seed's S3 -> GCS copy with the official Node clients, pinned in
# bench/node/package-lock.json (bench/s3_gcs_copy.py): npm ci only when
# bench/node/node_modules is missing or older than the lock file.
if [ ! -d "$root/bench/node/node_modules/@aws-sdk/client-s3" ] ||
	[ ! -d "$root/bench/node/node_modules/@google-cloud/storage" ] ||
	[ "$root/bench/node/package-lock.json" -nt "$root/bench/node/node_modules/.package-lock.json" ]; then
	echo "deps: installing bench/node (npm ci: @aws-sdk/client-s3, @google-cloud/storage)"
	npm ci --prefix "$root/bench/node" --silent --no-audit --no-fund --loglevel=error >/dev/null
fi

# The Python tools nobody here wrote (moto's server, boto3, cfn-lint with the
# SAM translator, openapi-spec-validator). Where a Python on the machine has
# them all (scripts/tools-python.sh), nothing is downloaded. Otherwise (a plain
# Debian 12): pip installs the pinned versions into build/pyvenv, made from
# Debian's python3; only the tests use it.
if tools_py=$("$root/scripts/tools-python.sh"); then
	echo "deps: Python tools from $tools_py"
else
	if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
		if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
		echo "deps: installing python3-venv python3-pip"
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -qq
		$SUDO apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null
	fi
	echo "deps: installing tests/requirements-tools.txt into build/pyvenv (pip)"
	rm -rf "$root/build/pyvenv"
	mkdir -p "$root/build"
	/usr/bin/python3 -m venv "$root/build/pyvenv"
	"$root/build/pyvenv/bin/pip" install --quiet --disable-pip-version-check \
		-r "$root/tests/requirements-tools.txt"
	if ! tools_py=$("$root/scripts/tools-python.sh"); then
		echo "deps: build/pyvenv was made but still lacks a tool of tests/requirements-tools.txt" >&2
		exit 1
	fi
	echo "deps: Python tools from $tools_py"
fi
