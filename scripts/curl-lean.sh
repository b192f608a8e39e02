#!/bin/sh
# Builds the lean libcurl: scripts/curl-lean.sh SRC_DIR PREFIX [HOST_TRIPLET]
# (the Makefile calls it once per architecture, PREFIX build/curl-<arch>).
#
# SRC_DIR is Debian's source package of curl as `make deps` unpacks it
# (.deps/src/curl-<version>, Debian's patches applied). It is configured with
# what ebssh uses and nothing else: HTTP and HTTPS through OpenSSL, zlib,
# IPv6, proxies (HTTPS_PROXY, NO_PROXY, with Basic/Digest proxy
# authentication), the threaded resolver; every other protocol, IDN, PSL,
# HTTP/2, brotli, zstd, LDAP, GSSAPI, RTMP, SSH, cookies, MIME, alt-svc,
# HSTS, DoH, netrc, NTLM and the manual are off. Then it is built out of the
# source tree (PREFIX/obj, so one source serves every architecture) and
# installed as a static libcurl.a with its headers into PREFIX/lib and
# PREFIX/include. With HOST_TRIPLET (aarch64-linux-gnu) it cross-compiles
# with HOST_TRIPLET-gcc and that architecture's pkg-config directory.
#
# CA certificates: no bundle and no directory are compiled in
# (--without-ca-bundle --without-ca-path), --with-ca-fallback instead. ebssh
# always gives curl its CA file itself (aws/http.c: $SSL_CERT_FILE, else the
# first of /etc/pki/tls/certs/ca-bundle.crt, the Lambda runtime's (Amazon
# Linux 2023), and /etc/ssl/certs/ca-certificates.crt, Debian's), so the
# compiled-in default only matters where none of them exists; there the
# fallback is OpenSSL's own default (SSL_CERT_FILE / SSL_CERT_DIR, then
# OPENSSLDIR /usr/lib/ssl, which on Debian leads to /etc/ssl/certs). A
# compiled-in CA directory would add its certificates to a CA file ebssh gives
# (and weaken SSL_CERT_FILE); a compiled-in bundle would name one system's
# path. --disable-openssl-auto-load-config: curl_global_init does not read
# openssl.cnf (Debian's sets nothing ebssh uses; Lambda has none), a part of
# OpenSSL 3's first-use cost.
#
# With OPENSSL_PREFIX in the environment (the lean OpenSSL's prefix,
# scripts/openssl-lean.sh: build/openssl-<arch>), curl is built against it
# (--with-openssl=OPENSSL_PREFIX); without, against Debian's libssl-dev.
#
# Writes PREFIX/ebssh-curl.txt: line 1 "libcurl <version> (Debian <package
# version>)", line 2 the configure line. Quiet: the build's output goes to
# PREFIX/build.log, whose tail is printed when a step fails.
set -eu

die() {
	echo "curl-lean: $*" >&2
	exit 1
}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	die "usage: curl-lean.sh SRC_DIR PREFIX [HOST_TRIPLET]"
fi
src=$(cd "$1" && pwd) || die "$1: no such directory (make deps fetches it)"
[ -x "$src/configure" ] || die "$src: no configure script (not curl's source?)"
mkdir -p "$2"
prefix=$(cd "$2" && pwd)
host=${3:-}
obj=$prefix/obj
log=$prefix/build.log
jobs=${CURL_JOBS:-$(nproc 2>/dev/null || echo 2)}
if [ -n "${OPENSSL_PREFIX:-}" ]; then
	[ -f "$OPENSSL_PREFIX/lib/libssl.a" ] || die "$OPENSSL_PREFIX: no lib/libssl.a (scripts/openssl-lean.sh)"
	OPENSSL_PREFIX=$(cd "$OPENSSL_PREFIX" && pwd)
fi

# Debian's version of the source: debian/changelog's first line, "curl (V) ...".
deb_version=$(sed -n '1s/^curl (\([^)]*\)).*/\1/p' "$src/debian/changelog" 2>/dev/null || true)
curl_version=$(sed -n 's/^#define LIBCURL_VERSION "\(.*\)"$/\1/p' "$src/include/curl/curlver.h")
[ -n "$curl_version" ] || die "$src/include/curl/curlver.h names no LIBCURL_VERSION"

set -- --prefix="$prefix" --disable-shared --enable-static --with-pic \
	--disable-dependency-tracking --disable-silent-rules \
	--with-openssl${OPENSSL_PREFIX:+=$OPENSSL_PREFIX} --with-zlib --without-ca-bundle --without-ca-path --with-ca-fallback \
	--disable-openssl-auto-load-config \
	--enable-http --enable-proxy --enable-ipv6 --enable-threaded-resolver \
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
	--disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-websockets \
	--disable-cookies --disable-mime --disable-alt-svc --disable-hsts --disable-doh \
	--disable-netrc --disable-ntlm --disable-ntlm-wb --disable-tls-srp \
	--disable-unix-sockets --disable-headers-api --disable-get-easy-options \
	--disable-libcurl-option --disable-manual --disable-versioned-symbols \
	--without-libidn2 --without-libpsl --without-nghttp2 --without-ngtcp2 \
	--without-nghttp3 --without-brotli --without-zstd --without-librtmp \
	--without-libssh2 --without-libssh --without-gssapi --without-libgsasl
cross=""
if [ -n "$host" ]; then
	command -v "$host-gcc" >/dev/null 2>&1 || die "$host-gcc is missing (make deps ARCH=...)"
	set -- "$@" --host="$host"
	cross="CC=$host-gcc AR=$host-ar RANLIB=$host-ranlib PKG_CONFIG_LIBDIR=/usr/lib/$host/pkgconfig:/usr/share/pkgconfig"
fi
# No checkout path in the objects (the Makefile's reason, for the zip; the
# lean OpenSSL's headers' path too: bootstrap's build id covers its debug
# information).
cflags="-O2 -g -ffile-prefix-map=$src=curl -ffile-prefix-map=$obj=curl${OPENSSL_PREFIX:+ -ffile-prefix-map=$OPENSSL_PREFIX=openssl}"
# The line --version prints: PREFIX for the build's own path (the binaries
# and the zip must not depend on the checkout's directory).
configure_line=$(echo "configure $* CFLAGS='-O2 -g'${cross:+ $cross}" | sed -e "s|--prefix=$prefix|--prefix=PREFIX|" -e "s|--with-openssl=[^ ]*|--with-openssl=OPENSSL_PREFIX|")

step() { # runs "$@" with its output in the log; on failure, the log's tail
	echo "+ $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "curl-lean: failed: $*" >&2
		tail -n 40 "$log" >&2
		echo "curl-lean: the whole log: $log" >&2
		exit 1
	fi
}

rm -rf "$obj" "${prefix:?}/lib" "${prefix:?}/include" "$prefix/ebssh-curl.txt"
mkdir -p "$obj"
: >"$log"
# shellcheck disable=SC2086
(cd "$obj" && step env $cross CFLAGS="$cflags" "$src/configure" "$@")
(cd "$obj/lib" && step make -j"$jobs" V=0 libcurl.la)
(cd "$obj/lib" && step make install-libLTLIBRARIES)
(cd "$obj/include" && step make install)
# libtool's .la file names the build's paths; nothing here uses it.
rm -f "$prefix/lib/libcurl.la"
[ -f "$prefix/lib/libcurl.a" ] || die "no $prefix/lib/libcurl.a after the build (see $log)"

{
	echo "libcurl $curl_version${deb_version:+ (Debian $deb_version)}"
	echo "$configure_line"
} >"$prefix/ebssh-curl.txt.tmp"
mv "$prefix/ebssh-curl.txt.tmp" "$prefix/ebssh-curl.txt"
