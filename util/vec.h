/*
 * vec: arrays of any item type that grow, for the lists parsers build
 * (instances, images, their tags). An array is a T *items with its count
 * and, while it grows, a capacity; the functions take the address of the
 * items pointer, so call sites need no casts.
 */
#ifndef EBSSH_UTIL_VEC_H
#define EBSSH_UTIL_VEC_H

#include <stddef.h>

/*
 * Appends one zeroed item of size bytes to the array at *items_ptr (a T **)
 * of *n items with room for *cap (both 0 for a new array), doubling the room
 * when full. Returns the new item, or NULL when out of memory (the array is
 * unchanged).
 */
void *vec_push(void *items_ptr, size_t *n, size_t *cap, size_t size);

/*
 * Moves the *n_src items of *src_ptr to the end of *dst_ptr (both T **, of
 * size-byte items), then frees and empties src. ERR_NOMEM leaves both as
 * they were.
 */
int vec_append(void *dst_ptr, size_t *n_dst, void *src_ptr, size_t *n_src, size_t size);

#endif
