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
# every program with every library), and every copy is stripped.
set -eu

bootstrap=${1:-build/bootstrap}
out=${2:-build/lambda.zip}
task=/var/task

die() {
	echo "package: $*" >&2
	exit 1
}

for tool in ldd patchelf strip zip; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (make deps installs it)"
done
[ -f "$bootstrap" ] || die "$bootstrap does not exist (run make first)"
if ldd "$bootstrap" | grep -q 'lib[atl]san\|libubsan'; then
	die "$bootstrap is a sanitizer build; package a normal build (BUILD=build)"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir "$stage/lib"

cp "$bootstrap" "$stage/bootstrap"
chmod 0755 "$stage/bootstrap"
strip --strip-unneeded "$stage/bootstrap"

# Direct dependencies no symbol binds to ("Unused direct dependencies").
unused=$(ldd -u -r "$stage/bootstrap" 2>/dev/null | sed -n 's|^[[:space:]]*/.*/||p') || true
for lib in $unused; do
	patchelf --remove-needed "$lib" "$stage/bootstrap"
done

interp=$(patchelf --print-interpreter "$stage/bootstrap")
loader=$(basename "$interp")

# "libx.so.1 => /usr/lib/.../libx.so.1 (0x...)": copy each under its soname.
ldd "$stage/bootstrap" | while read -r name arrow path _; do
	case "$name" in linux-vdso* | linux-gate*) continue ;; esac
	if [ "$arrow" = "=>" ]; then
		[ -f "$path" ] || die "$name: not found ($path)"
		cp -L "$path" "$stage/lib/$name"
	fi
done
cp -L "$interp" "$stage/lib/$loader"

chmod 0644 "$stage"/lib/*
chmod 0755 "$stage/lib/$loader"
for lib in "$stage"/lib/*; do
	strip --strip-unneeded "$lib"
done

patchelf --set-interpreter "$task/lib/$loader" --force-rpath --set-rpath "$task/lib" \
	"$stage/bootstrap"

mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$abs_out"
# Zone files for NOTIFY_TZ (bootstrap sets TZDIR to them when the system has
# none); right/ and posix/ are duplicates. About 450 KB zipped.
zoneinfo=${TZDIR:-/usr/share/zoneinfo}
[ -f "$zoneinfo/UTC" ] || die "no zone files in $zoneinfo (Debian package tzdata)"
mkdir "$stage/zoneinfo"
(cd "$zoneinfo" && tar cf - --exclude=./right --exclude=./posix --exclude='*.tab' --exclude='*.zi' .) |
	(cd "$stage/zoneinfo" && tar xf -)

(cd "$stage" && zip -X -q -r "$abs_out" bootstrap lib zoneinfo)

libs=$(ls "$stage/lib" | wc -l)
size=$(wc -c <"$abs_out")
echo "package: $out: bootstrap and $libs libraries, $size bytes"
