/* Unit tests of proxy/relay (and proxy/connect): half-close both ways, large
 * transfers intact, errors, no busy loop; for each way bytes can move. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy/connect.h"
#include "proxy/relay.h"

/* How ssh's side of the relay is made. */
enum variant {
	V_PIPES,          /* pipes, as ssh gives a ProxyCommand: splice */
	V_SOCKETS,        /* non-blocking socketpairs: splice via a pipe */
	V_BLOCKING_SOCKS, /* blocking socketpairs: splice up, read/write down */
	V_COPY            /* pipes with no_splice: read/write */
};

static const char *variant_name[] = {"pipes", "sockets", "blocking sockets", "copy"};

/* One relay under test: the relay's fds, and the test's ends of them. */
struct rig {
	int in_r, in_w;   /* relay reads in_r; the test ("ssh") writes in_w */
	int out_r, out_w; /* relay writes out_w; the test reads out_r */
	int sock;         /* relay's network socket (TCP on loopback) */
	int server;       /* the test's "instance" end of it */
	struct relay_opts opts;
	struct relay_stats stats;
	struct err err;
	int rc;
	pid_t tid; /* the relay thread's id, for /proc */
	pthread_t thread;
};

static int listen_loopback(unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static int make_pair(enum variant v, int *relay_end, int *test_end, int relay_reads)
{
	int fds[2];

	if (v == V_PIPES || v == V_COPY) {
		if (pipe2(fds, O_CLOEXEC) != 0)
			return -1;
		*relay_end = relay_reads ? fds[0] : fds[1];
		*test_end = relay_reads ? fds[1] : fds[0];
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return -1;
	*relay_end = fds[0];
	*test_end = fds[1];
	if (v == V_SOCKETS)
		fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	return 0;
}

static void *relay_thread(void *arg)
{
	struct rig *r = arg;

	r->tid = gettid();
	r->rc = relay_run(r->in_r, r->out_w, r->sock, &r->opts, &r->stats, &r->err);
	return NULL;
}

static int rig_start(struct rig *r, enum variant v)
{
	struct err e;
	unsigned port = 0;
	int lfd;

	memset(r, 0, sizeof(*r));
	r->rc = 1;
	if (make_pair(v, &r->in_r, &r->in_w, 1) || make_pair(v, &r->out_w, &r->out_r, 0))
		return -1;
	r->opts.no_splice = v == V_COPY;
	lfd = listen_loopback(&port);
	if (lfd < 0)
		return -1;
	r->sock = connect_tcp("127.0.0.1", port, 2000, &e);
	r->server = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (r->sock < 0 || r->server < 0)
		return -1;
	return pthread_create(&r->thread, NULL, relay_thread, r) == 0 ? 0 : -1;
}

/* Waits for the relay to end (at most 10 s); closes what is left. */
static int rig_join(struct rig *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	if (pthread_timedjoin_np(r->thread, NULL, &ts) != 0) {
		printf("# relay did not end\n");
		return -99;
	}
	close(r->in_r);
	if (r->in_w >= 0)
		close(r->in_w);
	if (r->out_r >= 0)
		close(r->out_r);
	close(r->sock);
	if (r->server >= 0)
		close(r->server);
	return r->rc;
}

static void write_str(int fd, const char *s)
{
	CHECK_INT(write(fd, s, strlen(s)), (long long)strlen(s));
}

/* Reads until n bytes or EOF, with a 5 s limit; returns the count. */
static size_t read_n(int fd, char *buf, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		if (poll(&p, 1, 5000) != 1)
			break;
		k = read(fd, buf + got, n - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* 1 when fd is at EOF within ms, 0 when it is still open (nothing to read). */
static int at_eof(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) != 1)
		return 0;
	return read(fd, &c, 1) == 0;
}

static void end_input(struct rig *r, enum variant v)
{
	if (v == V_PIPES || v == V_COPY) {
		close(r->in_w);
		r->in_w = -1;
	} else {
		shutdown(r->in_w, SHUT_WR);
	}
}

static void stdin_eof_first(enum variant v)
{
	struct rig r;
	char buf[64] = {0};

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	write_str(r.in_w, "hello");
	end_input(&r, v);
	CHECK_INT(read_n(r.server, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_INT(at_eof(r.server, 2000), 1); /* half-close reached the instance */
	CHECK_INT(at_eof(r.out_r, 100), 0);   /* ... and the other way is still open */
	write_str(r.server, "reply after EOF");
	CHECK_INT(read_n(r.out_r, buf, 15), 15);
	CHECK(memcmp(buf, "reply after EOF", 15) == 0);
	shutdown(r.server, SHUT_WR);
	CHECK_INT(at_eof(r.out_r, 2000), 1);
	CHECK_INT(rig_join(&r), 0);
	CHECK_INT(r.stats.up, 5);
	CHECK_INT(r.stats.down, 15);
}

static void socket_eof_first(enum variant v)
{
	struct rig r;
	char buf[64] = {0};

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	write_str(r.server, "SSH-2.0-banner\r\n");
	shutdown(r.server, SHUT_WR);
	CHECK_INT(read_n(r.out_r, buf, 16), 16);
	CHECK(memcmp(buf, "SSH-2.0-banner\r\n", 16) == 0);
	CHECK_INT(at_eof(r.out_r, 2000), 1); /* out closed when the network ended */
	/* the relay is still running: stdin goes on to the half-open socket */
	write_str(r.in_w, "late data");
	CHECK_INT(read_n(r.server, buf, 9), 9);
	CHECK(memcmp(buf, "late data", 9) == 0);
	end_input(&r, v);
	CHECK_INT(at_eof(r.server, 2000), 1);
	CHECK_INT(rig_join(&r), 0);
	CHECK_INT(r.stats.up, 9);
	CHECK_INT(r.stats.down, 16);
}

/* Large transfers, both ways at once, checked byte by byte. */
struct stream {
	int fd;
	size_t n;
	unsigned seed;
	int shut; /* writer: 1 shutdown(SHUT_WR), 0 close */
	size_t got;
	int bad;
};

static unsigned char next_byte(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (unsigned char)(*s >> 11);
}

static void *writer(void *arg)
{
	struct stream *st = arg;
	unsigned char buf[65536 + 7];
	unsigned s = st->seed;
	size_t done = 0, i, n;
	ssize_t w;

	while (done < st->n) {
		/* odd sizes, so that no boundary lines up with a page */
		n = st->n - done < sizeof(buf) ? st->n - done : sizeof(buf) - (done % 7);
		for (i = 0; i < n; i++)
			buf[i] = next_byte(&s);
		for (i = 0; i < n; i += (size_t)w) {
			w = write(st->fd, buf + i, n - i);
			if (w <= 0) {
				st->bad = 1;
				return NULL;
			}
		}
		done += n;
	}
	if (st->shut)
		shutdown(st->fd, SHUT_WR);
	else
		close(st->fd);
	return NULL;
}

static void *reader(void *arg)
{
	struct stream *st = arg;
	unsigned char buf[100003];
	unsigned s = st->seed;
	ssize_t k, i;

	for (;;) {
		k = read(st->fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (i = 0; i < k; i++)
			if (buf[i] != next_byte(&s))
				st->bad = 1;
		st->got += (size_t)k;
	}
	return NULL;
}

static void large_both_ways(enum variant v)
{
	const size_t n = 48u * 1024 * 1024 + 12345;
	struct stream up_w = {0}, up_r = {0}, down_w = {0}, down_r = {0};
	pthread_t t[4];
	struct rig r;

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	up_w = (struct stream){.fd = r.in_w,
	                       .n = n,
	                       .seed = 0x1234567,
	                       .shut = v == V_SOCKETS || v == V_BLOCKING_SOCKS};
	up_r = (struct stream){.fd = r.server, .seed = 0x1234567};
	down_w = (struct stream){.fd = r.server, .n = n - 999, .seed = 0x7654321, .shut = 1};
	down_r = (struct stream){.fd = r.out_r, .seed = 0x7654321};
	if (!up_w.shut)
		r.in_w = -1; /* the writer closes it */
	pthread_create(&t[0], NULL, writer, &up_w);
	pthread_create(&t[1], NULL, reader, &up_r);
	pthread_create(&t[2], NULL, writer, &down_w);
	pthread_create(&t[3], NULL, reader, &down_r);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(rig_join(&r), 0);
	CHECK_INT(up_r.got, n);
	CHECK_INT(down_r.got, n - 999);
	CHECK_INT(up_w.bad + up_r.bad + down_w.bad + down_r.bad, 0);
	CHECK_INT(r.stats.up, n);
	CHECK_INT(r.stats.down, n - 999);
}

static void reset_is_an_error(enum variant v)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct rig r;

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	write_str(r.in_w, "x"); /* unread by the instance: close sends a RST */
	usleep(50000);
	setsockopt(r.server, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(r.server);
	r.server = -1;
	CHECK_INT(rig_join(&r), ERR_NETWORK);
	CHECK(strstr(r.err.message, "Connection reset by peer") != NULL);
}

static void reader_gone_ends_quietly(enum variant v)
{
	struct rig r;

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	close(r.out_r); /* ssh exited: stdout has no reader */
	r.out_r = -1;
	write_str(r.server, "nobody reads this");
	usleep(50000);
	end_input(&r, v); /* ... and its stdin ends too */
	CHECK_INT(at_eof(r.server, 2000), 1);
	CHECK_INT(rig_join(&r), 0);
}

/* Context switches of thread tid so far (voluntary + involuntary): each
 * return from poll(2) is one, so an idle relay must not add any. */
static long switches_of(pid_t tid)
{
	char path[64], line[128];
	long total = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			total += v;
	fclose(f);
	return total;
}

/* CPU time used by the relay thread so far, in ms. */
static double cpu_ms_of(const struct rig *r)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(r->thread, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sleeps 300 ms and fails the case if the relay thread woke up or ran. */
static void expect_relay_asleep(const struct rig *r, const char *what)
{
	long sw0 = switches_of(r->tid), sw1;
	double cpu0 = cpu_ms_of(r), cpu1;

	usleep(300000);
	sw1 = switches_of(r->tid);
	cpu1 = cpu_ms_of(r);
	CHECK(sw0 >= 0 && cpu0 >= 0);
	if (sw1 - sw0 > 2 || cpu1 - cpu0 > 5) {
		printf("# %s: the relay woke %ld times and ran %.1f ms\n", what, sw1 - sw0,
		       cpu1 - cpu0);
		test_failed_case = 1;
	}
}

static void idle_costs_nothing(enum variant v)
{
	struct rig r;
	char buf[8];

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	/* a half-closed, idle relay must sleep in poll, without a timeout */
	write_str(r.server, "ab");
	CHECK_INT(read_n(r.out_r, buf, 2), 2);
	end_input(&r, v);
	CHECK_INT(at_eof(r.server, 2000), 1);
	usleep(20000);
	expect_relay_asleep(&r, variant_name[v]);
	shutdown(r.server, SHUT_WR);
	CHECK_INT(rig_join(&r), 0);
}

/* ssh not reading: the relay must wait for stdout to drain, not spin. */
static void blocked_reader_costs_nothing(enum variant v)
{
	static char chunk[65536];
	size_t sent = 0, got = 0;
	struct rig r;
	ssize_t k;
	char *buf;

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	memset(chunk, 'z', sizeof(chunk));
	fcntl(r.server, F_SETFL, fcntl(r.server, F_GETFL) | O_NONBLOCK);
	for (int idle = 0; idle < 20;) {
		k = write(r.server, chunk, sizeof(chunk));
		if (k > 0) {
			sent += (size_t)k;
			idle = 0;
		} else {
			idle++;
			usleep(5000);
		}
	}
	CHECK(sent > 0);
	expect_relay_asleep(&r, variant_name[v]);
	shutdown(r.server, SHUT_WR);
	buf = malloc(1 << 20);
	while (buf && (k = read(r.out_r, buf, 1 << 20)) > 0)
		got += (size_t)k;
	free(buf);
	CHECK_INT(got, sent);
	end_input(&r, v);
	CHECK_INT(rig_join(&r), 0);
}

static void modes_as_documented(enum variant v)
{
	static const char *up[] = {"splice", "splice via pipe", "splice via pipe", "read/write"};
	static const char *down[] = {"splice", "splice via pipe", "read/write", "read/write"};
	struct rig r;

	if (rig_start(&r, v) != 0) {
		CHECK(!"rig");
		return;
	}
	end_input(&r, v);
	shutdown(r.server, SHUT_WR);
	CHECK_INT(rig_join(&r), 0);
	CHECK_STR(r.stats.up_mode, up[v]);
	CHECK_STR(r.stats.down_mode, down[v]);
}

TEST_CASE(connect_errors_name_address_and_cause)
{
	struct err e;
	unsigned port = 0;
	int lfd, fd, one = 0;
	socklen_t len = sizeof(one);

	lfd = listen_loopback(&port);
	CHECK(lfd >= 0);
	fd = connect_tcp("127.0.0.1", port, 1000, &e);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		CHECK_INT(getsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, &len), 0);
		CHECK_INT(one, 1);
		close(fd);
	}
	close(lfd); /* nothing listens there now */
	CHECK_INT(connect_tcp("127.0.0.1", port, 1000, &e), ERR_NETWORK);
	{
		char want[64];

		snprintf(want, sizeof(want), "127.0.0.1 port %u: Connection refused", port);
		CHECK_STR(e.message, want);
	}
	CHECK_INT(connect_tcp("localhost", 22, 1000, &e), ERR_INVALID);
	CHECK_STR(e.message, "localhost is not an IP address");
	CHECK_INT(connect_tcp("127.0.0.1", 0, 1000, &e), ERR_INVALID);
	CHECK_INT(connect_tcp("127.0.0.1", 65536, 1000, &e), ERR_INVALID);
	CHECK_INT(connect_tcp("127.0.0.1", 22, 0, &e), ERR_INVALID);
	/* IPv6 when the machine has it */
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (lfd >= 0) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
		                          .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		socklen_t sl = sizeof(sa);

		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 1) == 0 &&
		    getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0) {
			fd = connect_tcp("::1", ntohs(sa.sin6_port), 1000, &e);
			CHECK(fd >= 0);
			if (fd >= 0)
				close(fd);
			close(lfd);
			CHECK_INT(connect_tcp("::1", ntohs(sa.sin6_port), 1000, &e), ERR_NETWORK);
			CHECK(strncmp(e.message, "[::1] port ", 11) == 0);
		} else {
			close(lfd);
		}
	}
}

TEST_CASE(connect_by_name)
{
	struct err e;
	unsigned port = 0;
	int lfd, fd;

	lfd = listen_loopback(&port);
	CHECK(lfd >= 0);
	/* localhost may resolve to ::1 first, where nothing listens: the next
	 * address is tried */
	fd = connect_tcp_name("localhost", port, 2000, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = connect_tcp_name("127.0.0.1", port, 2000, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	close(lfd);
	CHECK_INT(connect_tcp_name("127.0.0.1", port, 2000, &e), ERR_NETWORK);
	CHECK(strstr(e.message, "Connection refused") != NULL);
	CHECK_INT(connect_tcp_name("no-such-host.invalid", 22, 2000, &e), ERR_NETWORK);
	CHECK(strncmp(e.message, "no-such-host.invalid port 22: ", 30) == 0);
	CHECK_INT(connect_tcp_name("", 22, 2000, &e), ERR_INVALID);
	CHECK_INT(connect_tcp_name("h", 0, 2000, &e), ERR_INVALID);
}

TEST_CASE(connect_times_out)
{
	struct err e;
	unsigned port = 0;
	int lfd, fds[8], i, n = 0, rc = 0;
	struct timespec t0, t1;
	long ms;

	/* A listener that never accepts, with a full backlog: further SYNs
	 * are dropped, so the next connect hangs until our timeout. */
	lfd = listen_loopback(&port);
	CHECK(lfd >= 0);
	listen(lfd, 0);
	for (i = 0; i < 8; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = connect_tcp("127.0.0.1", port, 300, &e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc < 0)
			break;
		fds[n++] = rc;
	}
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_INT(rc, ERR_TIMEOUT);
	if (rc == ERR_TIMEOUT) {
		char want[64];

		snprintf(want, sizeof(want), "127.0.0.1 port %u: no answer within 300 ms", port);
		CHECK_STR(e.message, want);
		CHECK(ms >= 290 && ms < 2000);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	close(lfd);
}

#define PER_VARIANT(fn)                                                                            \
	do {                                                                                       \
		for (int v_ = 0; v_ < 4; v_++) {                                                   \
			char label_[96];                                                           \
			snprintf(label_, sizeof(label_), "%s (%s)", #fn, variant_name[v_]);        \
			RUN_NAMED(label_, fn((enum variant)v_));                                   \
		}                                                                                  \
	} while (0)

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(connect_errors_name_address_and_cause);
	RUN(connect_by_name);
	RUN(connect_times_out);
	PER_VARIANT(modes_as_documented);
	PER_VARIANT(stdin_eof_first);
	PER_VARIANT(socket_eof_first);
	PER_VARIANT(large_both_ways);
	PER_VARIANT(reset_is_an_error);
	PER_VARIANT(reader_gone_ends_quietly);
	PER_VARIANT(idle_costs_nothing);
	PER_VARIANT(blocked_reader_costs_nothing);
	return TEST_DONE();
}
