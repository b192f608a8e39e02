/*
 * handoff: bytes from the calling thread to a worker thread through a
 * bounded ring, so that producing the next bytes overlaps consuming the
 * previous ones (an S3 download goes on while a GCS chunk is uploading).
 *
 * handoff_start allocates the ring (capacity bytes) and starts one worker
 * thread that calls sink(ctx, piece, len) with the bytes in order, in
 * pieces of at most piece_max bytes; a piece's bytes stay reserved until
 * the sink returns, the rest of the ring keeps filling meanwhile. Memory:
 * the ring, whatever the total.
 *
 * Only the calling thread calls handoff_write and handoff_finish; only the
 * worker calls the sink, so whatever the sink touches (a gcs_upload) needs
 * no lock, and belongs to the caller again once handoff_finish or
 * handoff_free returned. A failing sink stops the worker: the next
 * handoff_write (or handoff_finish) returns its code and message.
 */
#ifndef EBSSH_UTIL_HANDOFF_H
#define EBSSH_UTIL_HANDOFF_H

#include <stddef.h>

#include "err.h"

struct handoff;

/* 0 or a failure, with e filled; called on the worker thread. */
typedef int (*handoff_sink_fn)(void *ctx, const void *data, size_t len, struct err *e);

/* capacity and piece_max > 0, piece_max <= capacity. ERR_NOMEM, ERR_INTERNAL
 * (no thread). */
int handoff_start(size_t capacity, size_t piece_max, handoff_sink_fn sink, void *ctx,
                  struct handoff **out, struct err *e);

/* Copies len bytes into the ring, waiting while it is full. The sink's
 * failure once it failed. */
int handoff_write(struct handoff *h, const void *data, size_t len, struct err *e);

/* Waits until the sink took every byte, then stops the worker: 0, or the
 * sink's failure. Only handoff_free after it. */
int handoff_finish(struct handoff *h, struct err *e);

/* Stops the worker if it still runs (the bytes not yet given to the sink
 * are dropped; a sink call under way ends first), frees everything. NULL:
 * nothing. */
void handoff_free(struct handoff *h);

#endif
