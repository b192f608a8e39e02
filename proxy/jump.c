/* jump: the instance through an SSH bastion with libssh2; see jump.h. */
#include "jump.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connect.h"

#define JUMP_BUF_SIZE        ((size_t)256 * 1024)
#define KNOWN_HOSTS_LINE_MAX 16384

struct jump {
	int sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_CHANNEL *channel;
	int libssh2_ready;
	char where[JUMP_HOST_MAX + 32]; /* "bastion port 22", for messages */
};

/* Host key types this code knows, in the order they are preferred. */
static const struct {
	int hostkey_type;   /* libssh2_session_hostkey's */
	int knownhost_type; /* libssh2_knownhost's */
	const char *name;
	const char *methods; /* host key algorithms of that key type */
} key_types[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ED25519", "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ECDSA",
     "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ECDSA",
     "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ECDSA",
     "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "RSA",
     "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
};

#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

static void logf_(const struct jump_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(const struct jump_opts *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->log(line);
}

static int user_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static int host_char_ok(unsigned char c)
{
	return user_char_ok(c) || c == ':';
}

int jump_parse_spec(const char *s, struct jump_spec *out, struct err *e)
{
	const char *at, *host, *end, *p;
	size_t ulen = 0, hlen;
	unsigned long port = 22;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return err_set(e, ERR_INVALID, "--jump: empty");
	at = strchr(s, '@');
	if (at) {
		ulen = (size_t)(at - s);
		if (ulen == 0 || ulen > JUMP_USER_MAX || s[0] == '-')
			return err_set(e, ERR_INVALID, "--jump: bad user name");
		for (p = s; p < at; p++)
			if (!user_char_ok((unsigned char)*p))
				return err_set(e, ERR_INVALID, "--jump: bad user name");
		host = at + 1;
	} else {
		host = s;
	}
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return err_set(e, ERR_INVALID, "--jump: unbalanced '['");
		p = end + 1;
		host++;
		if (*p && *p != ':')
			return err_set(e, ERR_INVALID, "--jump: expected :port after ']'");
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
		p = end;
	}
	if (*p == ':') {
		p++;
		if (!*p || *p == '0')
			return err_set(e, ERR_INVALID, "--jump: bad port");
		for (port = 0; *p; p++) {
			if (*p < '0' || *p > '9' || port > 65535)
				return err_set(e, ERR_INVALID, "--jump: bad port");
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port > 65535)
			return err_set(e, ERR_INVALID, "--jump: bad port");
	}
	hlen = (size_t)(end - host);
	if (hlen == 0 || hlen > JUMP_HOST_MAX || host[0] == '-')
		return err_set(e, ERR_INVALID, "--jump: bad host");
	for (p = host; p < end; p++)
		if (!host_char_ok((unsigned char)*p))
			return err_set(e, ERR_INVALID, "--jump: bad host");
	memcpy(out->user, s, ulen);
	out->user[ulen] = '\0';
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (unsigned)port;
	return 0;
}

static const char *session_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;

	if (!s || libssh2_session_last_error(s, &msg, NULL, 0) == 0 || !msg)
		return "unknown error";
	return msg;
}

/* Reads one known_hosts file line by line into kh, skipping the lines
 * libssh2 does not understand (certificate authorities, security keys)
 * instead of giving up on the whole file as libssh2_knownhost_readfile does.
 * Returns the number of entries read; a missing file is 0. */
static int read_known_hosts(LIBSSH2_KNOWNHOSTS *kh, const char *path)
{
	char *line;
	FILE *f;
	int n = 0;

	f = fopen(path, "re");
	if (!f)
		return 0;
	line = malloc(KNOWN_HOSTS_LINE_MAX);
	while (line && fgets(line, KNOWN_HOSTS_LINE_MAX, f)) {
		size_t len = strlen(line);

		if (len == 0 || line[0] == '#' || line[0] == '\n')
			continue;
		if (libssh2_knownhost_readline(kh, line, len, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* 1 when name is one of the n algorithms of algs. */
static int supported(const char **algs, int n, const char *name, size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (strlen(algs[i]) == len && memcmp(algs[i], name, len) == 0)
			return 1;
	return 0;
}

/* Appends to out the algorithms of the comma-separated list m that this
 * libssh2 supports (libssh2_session_method_pref must only be given those:
 * 1.10 corrupts its list when it strips an unknown name). */
static void append_supported(const char *m, const char **algs, int n, char *out, size_t cap,
                             size_t *o)
{
	const char *p = m, *comma;
	size_t len;

	while (*p) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (supported(algs, n, p, len) && *o + len + 2 < cap) {
			if (*o)
				out[(*o)++] = ',';
			memcpy(out + *o, p, len);
			*o += len;
			out[*o] = '\0';
		}
		p += len + (comma ? 1 : 0);
	}
}

/* The host key algorithms to ask for: first those for which kh holds a key
 * of host:port, then the others, as OpenSSH orders them (so that the key
 * the bastion shows is the one that can be checked). *n_known counts the
 * key types known. A probe with a wrong key answers MISMATCH exactly when a
 * key of that type is known. */
static void method_order(LIBSSH2_SESSION *s, LIBSSH2_KNOWNHOSTS *kh, const char *host,
                         unsigned port, char *out, size_t cap, int *n_known)
{
	const char **algs = NULL;
	int known[N_KEY_TYPES], pass, rc, n;
	size_t i, o = 0;

	*n_known = 0;
	out[0] = '\0';
	n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n <= 0)
		return;
	for (i = 0; i < N_KEY_TYPES; i++) {
		rc = libssh2_knownhost_checkp(kh, host, (int)port, "x", 1,
		                              LIBSSH2_KNOWNHOST_TYPE_PLAIN |
		                                  LIBSSH2_KNOWNHOST_KEYENC_RAW |
		                                  key_types[i].knownhost_type,
		                              NULL);
		known[i] = rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
		*n_known += known[i];
	}
	for (pass = 1; pass >= 0; pass--)
		for (i = 0; i < N_KEY_TYPES; i++)
			if (known[i] == pass)
				append_supported(key_types[i].methods, algs, n, out, cap, &o);
	libssh2_free(s, (void *)algs);
}

/* "SHA256:..." of the session's host key, as OpenSSH prints it. */
static void fingerprint(LIBSSH2_SESSION *s, char *out, size_t cap)
{
	const unsigned char *h =
	    (const unsigned char *)libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
	unsigned char b64[64];
	int n;

	if (!h) {
		snprintf(out, cap, "SHA256:?");
		return;
	}
	n = EVP_EncodeBlock(b64, h, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, cap, "SHA256:%.*s", n, (const char *)b64);
}

static int check_host_key(struct jump *j, LIBSSH2_KNOWNHOSTS *kh, const struct jump_opts *o,
                          const char *paths, struct err *e)
{
	const char *key;
	size_t len, i;
	int type, rc;
	char fp[64];
	const char *tname = "unknown";

	key = libssh2_session_hostkey(j->session, &len, &type);
	if (!key)
		return err_set(e, ERR_NETWORK, "%s: no host key", j->where);
	fingerprint(j->session, fp, sizeof(fp));
	for (i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].hostkey_type == type)
			break;
	if (i == N_KEY_TYPES)
		return err_set(e, ERR_CREDENTIALS, "%s: host key of an unsupported type (%s)",
		               j->where, fp);
	tname = key_types[i].name;
	rc = libssh2_knownhost_checkp(kh, o->spec->host, (int)o->spec->port, key, len,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	                                  key_types[i].knownhost_type,
	                              NULL);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		logf_(o, "bastion host key %s %s is known", tname, fp);
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return err_set(e, ERR_CREDENTIALS,
		               "%s: HOST KEY CHANGED: the bastion now shows %s %s, which %s does "
		               "not hold; refused",
		               j->where, tname, fp, paths);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return err_set(e, ERR_CREDENTIALS,
		               "%s: unknown host key %s %s (not in %s; check it and add it, e.g. "
		               "by connecting once with ssh); refused",
		               j->where, tname, fp, paths);
	default:
		return err_set(e, ERR_CREDENTIALS, "%s: host key check failed; refused", j->where);
	}
}

static const char *local_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *u = pw ? pw->pw_name : getenv("USER");

	return u && *u ? u : "root";
}

/* Agent keys, then the identity file. */
static int authenticate(struct jump *j, const struct jump_opts *o, const char *user, struct err *e)
{
	LIBSSH2_AGENT *agent = NULL;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	unsigned tried = 0;
	char why[256] = "";
	const char *list;
	int rc;

	list = libssh2_userauth_list(j->session, user, (unsigned)strlen(user));
	if (!list) {
		if (libssh2_userauth_authenticated(j->session))
			return 0;
		return err_set(e, ERR_NETWORK, "%s: %s", j->where, session_error(j->session));
	}
	if (!strstr(list, "publickey"))
		return err_set(e, ERR_CREDENTIALS, "%s: the bastion takes no public keys (only %s)",
		               j->where, list);
	if (getenv("SSH_AUTH_SOCK") && (agent = libssh2_agent_init(j->session)) != NULL &&
	    libssh2_agent_connect(agent) == 0 && libssh2_agent_list_identities(agent) == 0) {
		while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
			tried++;
			if (libssh2_agent_userauth(agent, user, id) == 0) {
				logf_(o, "authenticated to the bastion as %s with agent key %s",
				      user, id->comment ? id->comment : "");
				libssh2_agent_disconnect(agent);
				libssh2_agent_free(agent);
				return 0;
			}
			prev = id;
		}
		snprintf(why, sizeof(why), "%u agent key%s refused", tried, tried == 1 ? "" : "s");
	} else {
		snprintf(why, sizeof(why), "no agent");
	}
	if (agent) {
		libssh2_agent_disconnect(agent);
		libssh2_agent_free(agent);
	}
	if (o->identity) {
		rc = libssh2_userauth_publickey_fromfile_ex(
		    j->session, user, (unsigned)strlen(user), NULL, o->identity, NULL);
		if (rc == 0) {
			logf_(o, "authenticated to the bastion as %s with %s", user, o->identity);
			return 0;
		}
		snprintf(why + strlen(why), sizeof(why) - strlen(why), ", %s: %s", o->identity,
		         session_error(j->session));
	}
	return err_set(e, ERR_CREDENTIALS, "%s: no key accepted for %s (%s)", j->where, user, why);
}

int jump_open(const struct jump_opts *o, const char *ip, unsigned port, struct jump **out,
              struct err *e)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	const struct jump_spec *spec = o->spec;
	char user_path[PATH_MAX], paths[PATH_MAX + 40], methods[256];
	const char *home = getenv("HOME"), *user;
	struct jump *j;
	int rc = 0, n, known = 0;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return err_set(e, ERR_NOMEM, "out of memory");
	j->sock = -1;
	snprintf(j->where, sizeof(j->where),
	         strchr(spec->host, ':') ? "bastion [%s] port %u" : "bastion %s port %u",
	         spec->host, spec->port);
	if (libssh2_init(0) != 0) {
		rc = err_set(e, ERR_INTERNAL, "libssh2_init failed");
		goto fail;
	}
	j->libssh2_ready = 1;

	logf_(o, "connecting to %s", j->where);
	j->sock = connect_tcp_name(spec->host, spec->port, o->timeout_ms, e);
	if (j->sock < 0) {
		rc = j->sock;
		goto fail;
	}
	/* libssh2 waits on the socket itself while blocking; the relay polls. */
	fcntl(j->sock, F_SETFL, fcntl(j->sock, F_GETFL) & ~O_NONBLOCK);

	j->session = libssh2_session_init();
	if (!j->session) {
		rc = err_set(e, ERR_NOMEM, "libssh2_session_init failed");
		goto fail;
	}
	libssh2_session_set_blocking(j->session, 1);
	libssh2_session_set_timeout(j->session, o->timeout_ms);

	kh = libssh2_knownhost_init(j->session);
	if (!kh) {
		rc = err_set(e, ERR_NOMEM, "libssh2_knownhost_init failed");
		goto fail;
	}
	if (o->known_hosts) {
		snprintf(paths, sizeof(paths), "%s", o->known_hosts);
		n = read_known_hosts(kh, o->known_hosts);
	} else {
		snprintf(user_path, sizeof(user_path), "%s/.ssh/known_hosts", home ? home : "");
		snprintf(paths, sizeof(paths), "%s", user_path);
		n = read_known_hosts(kh, user_path);
		n += read_known_hosts(kh, "/etc/ssh/ssh_known_hosts");
	}
	method_order(j->session, kh, spec->host, spec->port, methods, sizeof(methods), &known);
	logf_(o, "%d known host keys read, %d type%s for the bastion; asking for %s", n, known,
	      known == 1 ? "" : "s", methods);
	if (methods[0])
		(void)libssh2_session_method_pref(j->session, LIBSSH2_METHOD_HOSTKEY, methods);

	if (libssh2_session_handshake(j->session, j->sock) != 0) {
		rc = err_set(e, ERR_NETWORK, "%s: SSH handshake: %s", j->where,
		             session_error(j->session));
		goto fail;
	}
	rc = check_host_key(j, kh, o, paths, e);
	if (rc)
		goto fail;

	user = spec->user[0] ? spec->user : local_user();
	rc = authenticate(j, o, user, e);
	if (rc)
		goto fail;

	logf_(o, "opening a channel to %s port %u", ip, port);
	j->channel = libssh2_channel_direct_tcpip_ex(j->session, ip, (int)port, "127.0.0.1", 22);
	if (!j->channel) {
		rc = err_set(e, ERR_NETWORK, "%s: channel to %s port %u: %s", j->where, ip, port,
		             session_error(j->session));
		goto fail;
	}
	libssh2_knownhost_free(kh);
	*out = j;
	return 0;
fail:
	if (kh)
		libssh2_knownhost_free(kh);
	jump_close(j);
	return rc;
}

void jump_close(struct jump *j)
{
	if (!j)
		return;
	if (j->session) {
		libssh2_session_set_blocking(j->session, 1);
		libssh2_session_set_timeout(j->session, 2000);
	}
	if (j->channel) {
		(void)libssh2_channel_close(j->channel);
		libssh2_channel_free(j->channel);
	}
	if (j->session) {
		(void)libssh2_session_disconnect(j->session, "ebssh-proxy done");
		libssh2_session_free(j->session);
	}
	if (j->sock >= 0)
		close(j->sock);
	if (j->libssh2_ready)
		libssh2_exit();
	free(j);
}

/* ---- the relay over the channel ---- */

struct end {
	int fd;
	int nonblocking; /* we set O_NONBLOCK (a pipe or a socket) */
	int saved_flags;
	int is_pipe;
};

static void end_init(struct end *x, int fd)
{
	struct stat st;

	x->fd = fd;
	x->nonblocking = 0;
	x->saved_flags = fcntl(fd, F_GETFL);
	x->is_pipe = 0;
	if (x->saved_flags < 0 || fstat(fd, &st) != 0)
		return;
	x->is_pipe = S_ISFIFO(st.st_mode);
	/* A pipe or socket of ssh's is ours alone: non-blocking it is (and
	 * restored at the end). A terminal is shared with the shell: never. */
	if ((S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) &&
	    fcntl(fd, F_SETFL, x->saved_flags | O_NONBLOCK) == 0)
		x->nonblocking = 1;
}

static void end_restore(struct end *x)
{
	if (x->nonblocking && x->fd >= 0)
		(void)fcntl(x->fd, F_SETFL, x->saved_flags);
}

struct chan_relay {
	struct jump *j;
	struct end in, out;
	char *up, *down;
	size_t up_len, up_off, down_len, down_off;
	int in_eof, eof_sent, chan_eof, out_closed;
	unsigned long long up_bytes, down_bytes;
};

static int chan_error(struct chan_relay *r, const char *what, ssize_t rc, struct err *e)
{
	return err_set(e, rc == LIBSSH2_ERROR_TIMEOUT ? ERR_TIMEOUT : ERR_NETWORK, "%s: %s: %s",
	               r->j->where, what, session_error(r->j->session));
}

/* Moves what can move without blocking; sets *moved when anything did. */
static int pump(struct chan_relay *r, int in_ready, int out_ready, int *moved, struct err *e)
{
	ssize_t n;

	/* channel -> down buffer */
	while (!r->chan_eof && r->down_len == 0 && !r->out_closed) {
		n = libssh2_channel_read(r->j->channel, r->down, JUMP_BUF_SIZE);
		if (n > 0) {
			r->down_len = (size_t)n;
			r->down_off = 0;
			*moved = 1;
		} else if (n == 0 || n == LIBSSH2_ERROR_EAGAIN) {
			if (libssh2_channel_eof(r->j->channel)) {
				r->chan_eof = 1;
				*moved = 1;
			}
			break;
		} else {
			return chan_error(r, "reading the channel", n, e);
		}
	}
	/* down buffer -> stdout */
	while (r->down_len > 0 && (r->out.nonblocking || out_ready)) {
		size_t want = r->down_len;

		if (!r->out.nonblocking && r->out.is_pipe && want > PIPE_BUF)
			want = PIPE_BUF;
		n = write(r->out.fd, r->down + r->down_off, want);
		if (n > 0) {
			r->down_len -= (size_t)n;
			r->down_off += (size_t)n;
			r->down_bytes += (unsigned long long)n;
			*moved = 1;
			if (!r->out.nonblocking)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EPIPE) { /* ssh went away: nobody left to tell */
			r->down_len = 0;
			r->chan_eof = 1;
			break;
		}
		return err_set(e, ERR_IO, "network to stdout: %s", strerror(n < 0 ? errno : EIO));
	}
	if (r->chan_eof && r->down_len == 0 && !r->out_closed) {
		close(r->out.fd);
		r->out.fd = -1;
		r->out_closed = 1;
		*moved = 1;
	}
	/* stdin -> up buffer */
	if (!r->in_eof && r->up_len == 0 && (r->in.nonblocking || in_ready)) {
		do
			n = read(r->in.fd, r->up, JUMP_BUF_SIZE);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			r->up_len = (size_t)n;
			r->up_off = 0;
			*moved = 1;
		} else if (n == 0) {
			r->in_eof = 1;
			*moved = 1;
		} else if (errno != EAGAIN) {
			return err_set(e, ERR_IO, "stdin to network: %s", strerror(errno));
		}
	}
	/* up buffer -> channel */
	while (r->up_len > 0) {
		n = libssh2_channel_write(r->j->channel, r->up + r->up_off, r->up_len);
		if (n > 0) {
			r->up_len -= (size_t)n;
			r->up_off += (size_t)n;
			r->up_bytes += (unsigned long long)n;
			*moved = 1;
			continue;
		}
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (r->out_closed) { /* the far end closed both ways */
			r->up_len = 0;
			r->in_eof = 1;
			r->eof_sent = 1;
			break;
		}
		return chan_error(r, "writing the channel", n, e);
	}
	if (r->in_eof && r->up_len == 0 && !r->eof_sent) {
		n = libssh2_channel_send_eof(r->j->channel);
		if (n == 0) {
			r->eof_sent = 1;
			*moved = 1;
		} else if (n != LIBSSH2_ERROR_EAGAIN) {
			if (!r->out_closed)
				return chan_error(r, "sending EOF", n, e);
			r->eof_sent = 1;
		}
	}
	return 0;
}

int jump_relay(struct jump *j, int in_fd, int out_fd, struct relay_stats *stats, struct err *e)
{
	struct chan_relay r;
	struct pollfd fds[3];
	int rc = 0, moved, n, dirs, slot_in, slot_out;

	memset(&r, 0, sizeof(r));
	r.j = j;
	relay_ignore_sigpipe();
	end_init(&r.in, in_fd);
	end_init(&r.out, out_fd);
	r.up = malloc(JUMP_BUF_SIZE);
	r.down = malloc(JUMP_BUF_SIZE);
	if (!r.up || !r.down) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	libssh2_session_set_blocking(j->session, 0);
	moved = 1;
	while (!(r.eof_sent && r.out_closed)) {
		/* Move everything that can move before sleeping: libssh2 may
		 * hold data it already read off the socket. */
		while (moved) {
			moved = 0;
			rc = pump(&r, 0, 0, &moved, e);
			if (rc)
				goto out;
		}
		if (r.eof_sent && r.out_closed)
			break;
		n = 0;
		slot_in = slot_out = -1;
		if (!r.in_eof && r.up_len == 0) {
			slot_in = n;
			fds[n++] = (struct pollfd){.fd = r.in.fd, .events = POLLIN};
		}
		if (r.down_len > 0 && !r.out_closed) {
			slot_out = n;
			fds[n++] = (struct pollfd){.fd = r.out.fd, .events = POLLOUT};
		}
		dirs = libssh2_session_block_directions(j->session);
		fds[n] = (struct pollfd){.fd = j->sock};
		if ((dirs & LIBSSH2_SESSION_BLOCK_INBOUND) ||
		    (!r.chan_eof && r.down_len == 0 && !r.out_closed))
			fds[n].events |= POLLIN;
		if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			fds[n].events |= POLLOUT;
		if (fds[n].events)
			n++;
		if (n == 0)
			break; /* nothing left to wait for */
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(e, ERR_IO, "poll: %s", strerror(errno));
			goto out;
		}
		rc = pump(&r, slot_in >= 0 && fds[slot_in].revents,
		          slot_out >= 0 && fds[slot_out].revents, &moved, e);
		if (rc)
			goto out;
		moved = 1; /* the socket may have brought data: look again */
	}
out:
	if (stats) {
		stats->up = r.up_bytes;
		stats->down = r.down_bytes;
		stats->up_mode = stats->down_mode = "ssh channel";
	}
	end_restore(&r.in);
	end_restore(&r.out);
	if (!r.out_closed && out_fd != in_fd)
		close(out_fd);
	free(r.up);
	free(r.down);
	return rc;
}
