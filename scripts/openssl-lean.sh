#!/bin/sh
# Builds the lean OpenSSL: scripts/openssl-lean.sh SRC_DIR PREFIX [HOST_TRIPLET]
# (the Makefile calls it once per architecture, PREFIX build/openssl-<arch>,
# before the lean libcurl, which is built against it).
#
# SRC_DIR is Debian's source package of OpenSSL as `make deps` unpacks it
# (.deps/src/openssl-<version>; Debian's patches applied, or its upstream
# tarball alone where the mirror lacks the rest: EBSSH-DEBIAN-VERSION then
# names the Debian version). It is configured for what bootstrap uses and
# nothing else, as static libcrypto.a and libssl.a (no shared library, no
# engines, no loadable modules, no legacy provider, no apps, no tests):
#   TLS 1.2 and 1.3 (libcurl's HTTPS): ECDHE over P-256, P-384, X25519; RSA and
#   ECDSA certificates; AES-GCM, ChaCha20-Poly1305; X.509 verification.
#   SHA-1/2, MD5 (S3's ETag, Content-MD5), HMAC (SigV4, Slack), RSA signing
#   and PEM / PKCS#8 / PKCS#1 keys (gcp/oauth.c's RS256), base64, RAND.
#   The deprecated low-level API stays (libcurl 7.88 still calls some).
# Off: SSL 3, TLS 1.0/1.1, DTLS, SRP, SRTP, CT, OCSP, TS, CMS, CMP, the
# GOST/SM2/SM3/SM4 national algorithms, Camellia, ARIA, Blowfish, CAST, DES,
# IDEA, MDC2, MD4, RC2, RC4, RC5, SEED, Whirlpool, RIPEMD-160, SipHash,
# BLAKE2, scrypt, OCB, SIV, DSA, binary-field curves (ec2m), NPN, async,
# the console UI, compression. ebssh-proxy and the tests link libssh2, built
# by Debian against its whole OpenSSL (DSA, DES, Blowfish...): they keep
# Debian's static libcrypto/libssl (the Makefile).
#
# OPENSSLDIR is Debian's, /usr/lib/ssl (on Debian a link to /etc/ssl): the
# default CA file and directory when nobody gives one; ebssh gives libcurl its
# CA file itself (aws/http.c), see scripts/curl-lean.sh. Built out of the
# source tree (PREFIX/obj, so one source serves every architecture), with
# -Os -ffunction-sections -fdata-sections (bootstrap links with --gc-sections),
# installed into PREFIX/lib and PREFIX/include (and PREFIX/lib/pkgconfig).
# With HOST_TRIPLET (aarch64-linux-gnu) it cross-compiles with
# HOST_TRIPLET-gcc for linux-aarch64.
#
# Writes PREFIX/ebssh-openssl.txt: line 1 "OpenSSL <version> (Debian <package
# version>)", line 2 the Configure line. Quiet: the build's output goes to
# PREFIX/build.log, whose tail is printed when a step fails.
set -eu

die() {
	echo "openssl-lean: $*" >&2
	exit 1
}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	die "usage: openssl-lean.sh SRC_DIR PREFIX [HOST_TRIPLET]"
fi
src=$(cd "$1" && pwd) || die "$1: no such directory (make deps fetches it)"
[ -f "$src/Configure" ] || die "$src: no Configure script (not OpenSSL's source?)"
mkdir -p "$2"
prefix=$(cd "$2" && pwd)
host=${3:-}
obj=$prefix/obj
log=$prefix/build.log
jobs=${OPENSSL_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Debian's version of the source: debian/changelog's first line, "openssl (V)
# ...", or EBSSH-DEBIAN-VERSION (the upstream tarball alone: scripts/deps.sh).
if [ -f "$src/debian/changelog" ]; then
	deb_version="Debian $(sed -n '1s/^openssl (\([^)]*\)).*/\1/p' "$src/debian/changelog")"
elif [ -f "$src/EBSSH-DEBIAN-VERSION" ]; then
	deb_version="Debian $(cat "$src/EBSSH-DEBIAN-VERSION")'s upstream tarball, without its patches"
else
	deb_version=""
fi
# VERSION.dat: MAJOR=3, MINOR=0, PATCH=22 lines.
ossl_version=$(sed -n 's/^\(MAJOR\|MINOR\|PATCH\)=\([0-9]*\)$/\2/p' "$src/VERSION.dat" | paste -sd.)
[ -n "$ossl_version" ] || die "$src/VERSION.dat names no version"

case "$host" in
"") target=linux-$(uname -m) ;;
aarch64-*) target=linux-aarch64 ;;
x86_64-*) target=linux-x86_64 ;;
*) die "$host: no OpenSSL target known for it" ;;
esac
case "$target" in
linux-x86_64 | linux-aarch64) ;;
*) die "$target: only x86_64 and aarch64 are built" ;;
esac

set -- "$target" --prefix="$prefix" --libdir=lib --openssldir=/usr/lib/ssl \
	no-shared no-tests no-module no-legacy no-engine no-dso no-comp no-zlib \
	no-ssl3 no-tls1 no-tls1_1 no-dtls no-srp no-srtp no-ct no-ocsp no-ts no-cms no-cmp \
	no-gost no-sm2 no-sm3 no-sm4 no-camellia no-aria no-bf no-cast no-des no-idea \
	no-mdc2 no-md4 no-rc2 no-rc4 no-rc5 no-seed no-whirlpool no-rmd160 no-siphash \
	no-blake2 no-scrypt no-ocb no-siv no-dsa no-ec2m no-nextprotoneg no-async \
	no-ui-console no-rfc3779 no-ssl-trace no-sctp no-afalgeng
if [ -n "$host" ]; then
	command -v "$host-gcc" >/dev/null 2>&1 || die "$host-gcc is missing (make deps)"
	set -- "$@" --cross-compile-prefix="$host-"
fi
# No checkout path and no build time in libcrypto (the Makefile's reason, for
# the zip): OpenSSL_version() holds the compiler line (CFLAGS), the build's
# date and its engines and modules directories. So the -ffile-prefix-map
# flags go in CPPFLAGS, which the compiler line leaves out; the date is
# SOURCE_DATE_EPOCH, else the source's VERSION.dat's time; the directories
# are Debian's (unused: no-module, no-engine, no-dso).
# -Os: about 110 KB less zip than -O2 (the C of libcrypto: ASN.1, X.509, the
# providers' glue); the hot paths (AES-GCM, ChaCha20-Poly1305, SHA, P-256,
# X25519, bignum Montgomery) are OpenSSL's assembler either way.
cflags="-Os -ffunction-sections -fdata-sections"
# Configure names the sources by their path relative to PREFIX/obj when it
# can (__FILE__ in the error calls): that form is mapped too.
rel_src=$(realpath -m --relative-to="$obj" "$src")
cppflags="-ffile-prefix-map=$src=openssl -ffile-prefix-map=$rel_src=openssl -ffile-prefix-map=$obj=openssl"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$src/VERSION.dat")}
export SOURCE_DATE_EPOCH
multiarch=${host:-$(gcc -dumpmachine)}
dirs="ENGINESDIR=/usr/lib/$multiarch/engines-3 MODULESDIR=/usr/lib/$multiarch/ossl-modules"
# The line --version prints: PREFIX for the build's own path.
configure_line=$(echo "Configure $* CFLAGS='$cflags'" |
	sed "s|--prefix=$prefix|--prefix=PREFIX|")

step() { # runs "$@" with its output in the log; on failure, the log's tail
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "openssl-lean: failed: $*" >&2
		tail -n 40 "$log" >&2
		echo "openssl-lean: the whole log: $log" >&2
		exit 1
	fi
}

rm -rf "$obj" "${prefix:?}/lib" "${prefix:?}/include" "$prefix/ebssh-openssl.txt"
mkdir -p "$obj"
: >"$log"
# Configure reads CFLAGS from the environment; it adds its own -O3 no more.
(cd "$obj" && step env CFLAGS="$cflags" perl "$src/Configure" "$@")
# shellcheck disable=SC2086
(cd "$obj" && step make -j"$jobs" CPPFLAGS="$cppflags" $dirs build_libs)
# shellcheck disable=SC2086
(cd "$obj" && step make CPPFLAGS="$cppflags" $dirs install_dev)
if [ ! -f "$prefix/lib/libcrypto.a" ] || [ ! -f "$prefix/lib/libssl.a" ]; then
	die "no $prefix/lib/libcrypto.a and libssl.a after the build (see $log)"
fi

{
	echo "OpenSSL $ossl_version${deb_version:+ ($deb_version)}"
	echo "$configure_line"
} >"$prefix/ebssh-openssl.txt.tmp"
mv "$prefix/ebssh-openssl.txt.tmp" "$prefix/ebssh-openssl.txt"
