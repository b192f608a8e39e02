#!/bin/sh
# Installs, from Debian's packages, what the build, the tests and the demo need.
# Idempotent: quiet and quick when everything is already there; one
# `apt-get update` when something is missing; sudo when not root.
set -eu

PACKAGES="
  build-essential pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libjansson-dev libssl-dev libssh2-1-dev
  libexpat1-dev libmicrohttpd-dev
  openssh-server openssh-client rsync socat
  python3 python3-botocore python3-boto3
  zip unzip patchelf valgrind
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
