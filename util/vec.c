/* vec: growing arrays of any item type; see vec.h. */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The T * at p, read and written as bytes: T * and void * share one
 * representation on every platform ebssh builds for, and memcpy keeps the
 * access within C's aliasing rules. */
static void *load(const void *p)
{
	void *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void store(void *p, void *v)
{
	memcpy(p, &v, sizeof(v));
}

void *vec_push(void *items_ptr, size_t *n, size_t *cap, size_t size)
{
	char *items = load(items_ptr), *grown;
	size_t c;

	if (*n == *cap) {
		c = *cap ? *cap * 2 : 4;
		if (c < *cap || c > SIZE_MAX / size)
			return NULL;
		grown = realloc(items, c * size);
		if (!grown)
			return NULL; /* items is still the caller's */
		items = grown;
		store(items_ptr, items);
		*cap = c;
	}
	items += (*n)++ * size;
	memset(items, 0, size);
	return items;
}

int vec_append(void *dst_ptr, size_t *n_dst, void *src_ptr, size_t *n_src, size_t size)
{
	char *dst = load(dst_ptr), *src = load(src_ptr), *grown;

	if (*n_src) {
		if (*n_src > SIZE_MAX / size - *n_dst)
			return ERR_NOMEM;
		grown = realloc(dst, (*n_dst + *n_src) * size);
		if (!grown)
			return ERR_NOMEM; /* dst is still the caller's */
		dst = grown;
		memcpy(dst + *n_dst * size, src, *n_src * size);
		store(dst_ptr, dst);
		*n_dst += *n_src;
	}
	free(src);
	store(src_ptr, NULL);
	*n_src = 0;
	return 0;
}
