#!/bin/sh
# Installs, from Debian's packages, what the build, the tests and the demo need,
# then the npm tools pinned in tools/package-lock.json (the OpenAPI linter) and
# tests/node/package-lock.json (Google's Node storage client, for the GCS double),
# then, only when no Python on the machine has them, the Python tools of
# tests/requirements-tools.txt (moto, boto3, cfn-lint, openapi-spec-validator)
# into a virtual environment under build/pyvenv, and Debian's source package
# of curl into .deps/src (a deb-src entry added when the machine has none) for
# the lean libcurl (scripts/curl-lean.sh).
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

# Debian's source package of curl, for the lean libcurl (scripts/curl-lean.sh,
# the Makefile builds it into build/curl-<arch>/): a deb-src entry (a copy of
# debian.sources' entries with "Types: deb-src", in its own file, only when
# the machine has no deb-src at all), then `apt-get source curl` (dpkg-source
# unpacks it with Debian's patches applied) into .deps/src/ at the checkout's
# root (gitignored; make clean keeps it). Fetched again when apt knows a newer
# source version than the one there (after an `apt-get update`: a Debian
# security update), the old one removed: docs/deploy.md, "Security updates".
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
# The source version apt would fetch: its .dsc's name, curl_<version>.dsc.
want_dsc=$(cd / && apt-get source --print-uris -qq curl 2>/dev/null |
	sed -n "s/^'[^']*' \(curl_[^ ]*\.dsc\) .*/\1/p" | head -n 1)
if [ -z "$want_dsc" ]; then
	echo "deps: apt knows no source package of curl (apt-get update?)" >&2
	exit 1
fi
src="$root/.deps/src"
if [ ! -f "$src/$want_dsc" ] || ! ls -d "$src"/curl-*/ >/dev/null 2>&1; then
	echo "deps: fetching Debian's curl source (${want_dsc%.dsc}) into .deps/src"
	rm -rf "$src.new"
	mkdir -p "$src.new"
	# As root apt warns that it cannot drop to user _apt in this directory.
	(cd "$src.new" && apt-get source -qq curl >"$src.new.log" 2>&1) ||
		{ cat "$src.new.log" >&2; rm -rf "$src.new" "$src.new.log"; exit 1; }
	rm -rf "$src" "$src.new.log"
	mv "$src.new" "$src"
fi

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
