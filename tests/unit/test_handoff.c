/* Unit tests of util/handoff: order, bounds, wrap-around, failures, early free. */
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/handoff.h"

struct seen {
	unsigned char next; /* the byte expected next: the stream is 0, 1, ..., 255, 0, ... */
	size_t total, calls, biggest;
	int out_of_order;
	size_t fail_after; /* fail the call that passes this many bytes (0: never) */
	int slow;          /* sleep a little in each call */
};

static int check_sink(void *ctx, const void *data, size_t len, struct err *e)
{
	struct seen *s = ctx;
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != s->next++)
			s->out_of_order = 1;
	s->total += len;
	s->calls++;
	if (len > s->biggest)
		s->biggest = len;
	if (s->slow)
		usleep(200);
	if (s->fail_after && s->total >= s->fail_after)
		return err_set(e, ERR_SERVICE, "the sink refused at %zu", s->total);
	return 0;
}

/* Writes total bytes of the 0..255 stream in writes of 1..max_write bytes. */
static int feed(struct handoff *h, size_t total, size_t max_write, struct err *e)
{
	unsigned char buf[5000];
	unsigned char next = 0;
	size_t done = 0;
	unsigned seed = 7;

	while (done < total) {
		size_t n = 1 + (size_t)(rand_r(&seed) % (unsigned)max_write), i;
		int rc;

		if (n > total - done)
			n = total - done;
		for (i = 0; i < n; i++)
			buf[i] = next++;
		rc = handoff_write(h, buf, n, e);
		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

TEST_CASE(bytes_arrive_in_order_in_bounded_pieces)
{
	struct seen s = {0};
	struct handoff *h = NULL;
	struct err e = {0};

	/* A ring of 1000 bytes that wraps many times; writes larger than the ring. */
	CHECK_INT(handoff_start(1000, 64, check_sink, &s, &h, &e), 0);
	CHECK_INT(feed(h, 300000, 4999, &e), 0);
	CHECK_INT(handoff_finish(h, &e), 0);
	handoff_free(h);
	CHECK_INT(s.total, 300000);
	CHECK_INT(s.out_of_order, 0);
	CHECK(s.biggest <= 64);
	CHECK(s.calls >= 300000 / 64);
}

TEST_CASE(a_slow_sink_holds_the_writer_back)
{
	struct seen s = {.slow = 1};
	struct handoff *h = NULL;
	struct err e = {0};

	CHECK_INT(handoff_start(256, 256, check_sink, &s, &h, &e), 0);
	CHECK_INT(feed(h, 20000, 700, &e), 0);
	CHECK_INT(handoff_finish(h, &e), 0);
	handoff_free(h);
	CHECK_INT(s.total, 20000);
	CHECK_INT(s.out_of_order, 0);
}

TEST_CASE(the_sink_failure_reaches_the_writer)
{
	struct seen s = {.fail_after = 5000};
	struct handoff *h = NULL;
	struct err e = {0};

	CHECK_INT(handoff_start(512, 100, check_sink, &s, &h, &e), 0);
	CHECK_INT(feed(h, 1000000, 300, &e), ERR_SERVICE);
	CHECK(strstr(e.message, "the sink refused at") != NULL);
	err_clear(&e);
	CHECK_INT(handoff_finish(h, &e), ERR_SERVICE);
	CHECK(strstr(e.message, "the sink refused at") != NULL);
	handoff_free(h);
	CHECK(s.total < 6000);
}

TEST_CASE(finish_reports_a_failure_on_the_last_bytes)
{
	struct seen s = {.fail_after = 999};
	struct handoff *h = NULL;
	struct err e = {0};

	CHECK_INT(handoff_start(4096, 4096, check_sink, &s, &h, &e), 0);
	CHECK_INT(feed(h, 999, 999, &e), 0);
	CHECK_INT(handoff_finish(h, &e), ERR_SERVICE);
	handoff_free(h);
}

TEST_CASE(free_without_finish_stops_the_worker)
{
	struct seen s = {.slow = 1};
	struct handoff *h = NULL;
	struct err e = {0};

	CHECK_INT(handoff_start(4096, 16, check_sink, &s, &h, &e), 0);
	CHECK_INT(feed(h, 4000, 100, &e), 0);
	handoff_free(h); /* bytes dropped; no hang, no leak */
	CHECK(s.total <= 4000);
	CHECK_INT(s.out_of_order, 0);
	handoff_free(NULL);
}

TEST_CASE(an_empty_stream_finishes)
{
	struct seen s = {0};
	struct handoff *h = NULL;
	struct err e = {0};

	CHECK_INT(handoff_start(16, 8, check_sink, &s, &h, &e), 0);
	CHECK_INT(handoff_finish(h, &e), 0);
	handoff_free(h);
	CHECK_INT(s.calls, 0);
	CHECK_INT(handoff_start(16, 32, check_sink, &s, &h, &e), ERR_INVALID);
	CHECK(h == NULL);
}

int main(void)
{
	RUN(bytes_arrive_in_order_in_bounded_pieces);
	RUN(a_slow_sink_holds_the_writer_back);
	RUN(the_sink_failure_reaches_the_writer);
	RUN(finish_reports_a_failure_on_the_last_bytes);
	RUN(free_without_finish_stops_the_worker);
	RUN(an_empty_stream_finishes);
	return TEST_DONE();
}
