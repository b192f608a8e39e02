/* Unit tests of util/vec: pushing zeroed items through several growths,
 * appending one array to another (and an empty one), items kept in order. */
#include "test.h"

#include <stdint.h>

#include "util/vec.h"

struct item {
	int64_t a;
	char *s;
	int b;
};

TEST_CASE(push_grows_and_zeroes)
{
	struct item *items = NULL, *it;
	size_t n = 0, cap = 0, i, caps = 0, last_cap = 0;

	for (i = 0; i < 1000; i++) {
		it = vec_push(&items, &n, &cap, sizeof(*items));
		CHECK(it != NULL);
		if (!it)
			break;
		CHECK(it == &items[i]);
		CHECK(it->a == 0 && it->s == NULL && it->b == 0);
		it->a = (int64_t)i;
		it->b = -(int)i;
		if (cap != last_cap) {
			caps++;
			last_cap = cap;
		}
	}
	CHECK_INT(n, 1000);
	CHECK(cap >= 1000 && cap < 2000);
	CHECK(caps < 12); /* doubling, not one at a time */
	for (i = 0; i < n; i++)
		if (items[i].a != (int64_t)i || items[i].b != -(int)i)
			test_failed_case = 1;
	free(items);
}

TEST_CASE(append_moves_everything)
{
	struct item *dst = NULL, *src = NULL;
	size_t n_dst = 0, n_src = 0, cap_dst = 0, cap_src = 0, i;

	struct item *it;

	for (i = 0; i < 8; i++) {
		it = i < 3 ? vec_push(&dst, &n_dst, &cap_dst, sizeof(*dst))
		           : vec_push(&src, &n_src, &cap_src, sizeof(*src));
		CHECK(it != NULL);
		if (it)
			it->a = (int64_t)i;
	}
	CHECK_INT(vec_append(&dst, &n_dst, &src, &n_src, sizeof(*dst)), 0);
	CHECK_INT(n_dst, 8);
	CHECK(src == NULL);
	CHECK_INT(n_src, 0);
	for (i = 0; i < n_dst; i++)
		CHECK_INT(dst[i].a, i);
	/* nothing to move: src (maybe allocated) is freed, dst unchanged */
	src = malloc(sizeof(*src));
	CHECK_INT(vec_append(&dst, &n_dst, &src, &n_src, sizeof(*dst)), 0);
	CHECK(src == NULL);
	CHECK_INT(n_dst, 8);
	free(dst);
	/* into an empty array */
	dst = NULL;
	n_dst = 0;
	src = NULL;
	n_src = cap_src = 0;
	it = vec_push(&src, &n_src, &cap_src, sizeof(*src));
	CHECK(it != NULL);
	if (it)
		it->b = 7;
	CHECK_INT(vec_append(&dst, &n_dst, &src, &n_src, sizeof(*dst)), 0);
	CHECK(n_dst == 1 && dst && dst[0].b == 7);
	free(dst);
}

int main(void)
{
	RUN(push_grows_and_zeroes);
	RUN(append_moves_everything);
	return TEST_DONE();
}
