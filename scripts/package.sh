#!/bin/sh
# Makes the Lambda deployment zip: scripts/package.sh [BOOTSTRAP [OUT.zip]]
# (defaults build/bootstrap and build/lambda.zip; `make package` calls it).
#
# The zip runs in an empty root holding only its files at /var/task: the ELF
# `bootstrap` sits at the zip root (mode 0755, no shell wrapper), every shared
# library it loads, the dynamic loader included, sits in lib/, and bootstrap's
# interpreter is /var/task/lib/<loader> with DT_RPATH (not DT_RUNPATH, which
# is not searched for the libraries' own dependencies) /var/task/lib.
# Direct dependencies that bind no symbol are dropped first (the Makefile links
# every program with every library), and every copy is stripped. zone-rules.txt
# holds the zones' rules, LICENSE the project's licence.
#
# Reproducible: the same bootstrap (the same source, compiler and libraries:
# the Makefile keeps checkout paths out of it) gives the same zip, byte for
# byte, whatever the time, TZ, umask, build directory or the files' mtimes.
# Entries are the files alone (no directory entries), sorted by name (C
# locale); modes are fixed (0755 for bootstrap and the loader, 0644 for the
# rest); every mtime is SOURCE_DATE_EPOCH, written in UTC; no extra fields
# (zip -X: no owner, no second timestamp). SOURCE_DATE_EPOCH defaults to the
# time of the checkout's last commit (git log -1 --format=%ct), and outside a
# git checkout (or without git) to 315532800, 1980-01-01T00:00:00Z, the zip
# format's first second; set it to reproduce a release's zip elsewhere. Times
# before 1980 are taken as 1980 (zip cannot say them); zip rounds an odd
# second up.
#
# Another architecture (arm64 bootstrap cross-built on x86_64: make package
# ARCH=arm64): ldd cannot run a foreign ELF, so the library closure follows
# readelf's NEEDED entries through that architecture's multiarch directories
# (/usr/lib/<triplet>, /lib/<triplet>, then the cross toolchain's
# /usr/<triplet>/lib), the loader is found there by its name, unused direct
# dependencies are left to the linker (-Wl,--as-needed), and $STRIP (make
# passes <triplet>-strip) strips.
#
# The release file: a copy named ebssh-lambda-<version>-<arch>.zip next to
# OUT.zip (version: $EBSSH_VERSION, which make passes, else the VERSION
# file's line; arch: Lambda's name for bootstrap's machine, x86_64 or arm64).
set -eu

bootstrap=${1:-build/bootstrap}
out=${2:-build/lambda.zip}
task=/var/task
root=$(cd "$(dirname "$0")/.." && pwd)
export TZ=UTC0 LC_ALL=C
umask 022

die() {
	echo "package: $*" >&2
	exit 1
}

[ -f "$bootstrap" ] || die "$bootstrap does not exist (run make first)"
machine=$(readelf -h "$bootstrap" | sed -n 's/^ *Machine: *//p')
case "$machine" in
*X86-64*) arch=x86_64 triplet=x86_64-linux-gnu ;;
AArch64) arch=arm64 triplet=aarch64-linux-gnu ;;
*) die "$bootstrap: $machine is no Lambda architecture" ;;
esac
# Foreign: bootstrap is not for this machine's architecture.
case "$(uname -m)" in
x86_64) foreign=$([ "$arch" = x86_64 ] && echo no || echo yes) ;;
aarch64 | arm64) foreign=$([ "$arch" = arm64 ] && echo no || echo yes) ;;
*) foreign=yes ;;
esac
if [ -z "${STRIP:-}" ]; then
	if [ "$foreign" = yes ]; then STRIP="$triplet-strip"; else STRIP="strip"; fi
fi
for tool in ldd patchelf readelf "$STRIP" touch zip; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (make deps installs it)"
done
needed() { # the NEEDED entries of ELF file $1, one a line
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}
if needed "$bootstrap" | grep -q 'lib[atl]san\|libubsan'; then
	die "$bootstrap is a sanitizer build; package a normal build (BUILD=build)"
fi

version=${EBSSH_VERSION:-$(sed -n 1p "$root/VERSION" 2>/dev/null || true)}
echo "$version" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?' ||
	die "no version: '$version' (the VERSION file holds one like 0.2.0)"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null) || SOURCE_DATE_EPOCH=""
	[ -n "$SOURCE_DATE_EPOCH" ] || SOURCE_DATE_EPOCH=315532800
fi
case "$SOURCE_DATE_EPOCH" in
'' | *[!0-9]*) die "SOURCE_DATE_EPOCH must be seconds since 1970: '$SOURCE_DATE_EPOCH'" ;;
esac
[ "$SOURCE_DATE_EPOCH" -ge 315532800 ] || SOURCE_DATE_EPOCH=315532800

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir "$stage/lib"

cp "$bootstrap" "$stage/bootstrap"
chmod 0755 "$stage/bootstrap"
$STRIP --strip-unneeded "$stage/bootstrap"

interp=$(patchelf --print-interpreter "$stage/bootstrap")
loader=$(basename "$interp")

if [ "$foreign" = no ]; then
	# Direct dependencies no symbol binds to ("Unused direct dependencies").
	unused=$(ldd -u -r "$stage/bootstrap" 2>/dev/null | sed -n 's|^[[:space:]]*/.*/||p') || true
	for lib in $unused; do
		patchelf --remove-needed "$lib" "$stage/bootstrap"
	done

	# "libx.so.1 => /usr/lib/.../libx.so.1 (0x...)": copy each under its soname.
	ldd "$stage/bootstrap" | while read -r name arrow path _; do
		case "$name" in linux-vdso* | linux-gate*) continue ;; esac
		if [ "$arrow" = "=>" ]; then
			[ -f "$path" ] || die "$name: not found ($path)"
			cp -L "$path" "$stage/lib/$name"
		fi
	done
	cp -L "$interp" "$stage/lib/$loader"
else
	# The closure of NEEDED, breadth first, each found in the multiarch dirs.
	dirs="/usr/lib/$triplet /lib/$triplet /usr/$triplet/lib"
	find_lib() { # the path of library $1 for $triplet, or nothing
		for d in $dirs; do
			if [ -f "$d/$1" ]; then
				echo "$d/$1"
				return 0
			fi
		done
		return 1
	}
	path=$(find_lib "$loader") || die "$loader: not in $dirs"
	cp -L "$path" "$stage/lib/$loader"
	todo=$(needed "$stage/bootstrap")
	while [ -n "$todo" ]; do
		next=""
		for name in $todo; do
			[ "$name" = "$loader" ] && continue
			[ -f "$stage/lib/$name" ] && continue
			path=$(find_lib "$name") || die "$name: not in $dirs"
			cp -L "$path" "$stage/lib/$name"
			next="$next $(needed "$stage/lib/$name")"
		done
		todo=$next
	done
fi

chmod 0644 "$stage"/lib/*
chmod 0755 "$stage/lib/$loader"
for lib in "$stage"/lib/*; do
	$STRIP --strip-unneeded "$lib"
done

patchelf --set-interpreter "$task/lib/$loader" --force-rpath --set-rpath "$task/lib" \
	"$stage/bootstrap"

mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$abs_out"
# NOTIFY_TZ's zones where the system has no zone files: zone-rules.txt, one
# "name<TAB>POSIX TZ rule" line per zone (links included, right/ and posix/
# left out), the rule being the footer of the zone's TZif file (RFC 8536,
# section 3.3: today's offsets and daylight-saving rule). About 20 KB in one
# file, where the zone files themselves were 600 files and 330 KB zipped;
# bootstrap points EBSSH_ZONE_RULES at it (lambda/ops/notify.c).
zoneinfo=${TZDIR:-/usr/share/zoneinfo}
[ -f "$zoneinfo/UTC" ] || die "no zone files in $zoneinfo (Debian package tzdata)"
(cd "$zoneinfo" && find -L . -type f ! -path './right/*' ! -path './posix/*' ! -name localtime |
	sed 's|^\./||' | sort | while IFS= read -r zone; do
		[ "$(head -c 4 "$zone")" = TZif ] || continue
		rule=$(tail -n 1 "$zone")
		case "$rule" in
		'' | *[![:print:]]*) continue ;; # no footer (a version 1 file)
		esac
		printf '%s\t%s\n' "$zone" "$rule"
	done) >"$stage/zone-rules.txt"
grep -q '^Europe/Paris	' "$stage/zone-rules.txt" || die "no zone rules could be read from $zoneinfo"
cp "$root/LICENSE" "$stage/LICENSE"

# What varies between runs goes: modes, mtimes (touch -h: the files
# themselves; there are no links left), order.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/bootstrap" "$stage/lib/$loader"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$stage" && find . -type f | sed 's|^\./||' | sort | zip -X -D -q -@ "$abs_out")

release=$(dirname "$abs_out")/ebssh-lambda-$version-$arch.zip
if [ "$release" != "$abs_out" ]; then
	rm -f "$release"
	cp "$abs_out" "$release"
fi

libs=$(ls "$stage/lib" | wc -l)
size=$(wc -c <"$abs_out")
sum=$(sha256sum "$abs_out" | cut -d' ' -f1)
echo "package: $out: bootstrap $version ($arch) and $libs libraries, $size bytes, sha256 $sum (file times @$SOURCE_DATE_EPOCH)"
echo "package: release file $(dirname "$out")/$(basename "$release")"
