/* Shuffled mini-batches over a dataset's train split.
 *
 * The row order is a permutation drawn from the batcher's own stream at
 * creation and again after each epoch; a batch copies batch_size rows in
 * that order. Everything is allocated at creation, nothing per batch. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

struct gm_batcher {
    const gm_dataset *d;
    int batch_size;
    gm_rng rng;
    int *order;  /* [rows] permutation of the current epoch */
    size_t next; /* first row of the next batch in order */
    size_t per_epoch;
    long epoch;
};

static void start_epoch(gm_batcher *b) {
    gm_rng_shuffle(&b->rng, b->order, b->d->rows);
    b->next = 0;
}

gm_batcher *gm_batcher_create(const gm_dataset *d, int batch_size,
                              gm_rng data_stream, gm_error *err) {
    if (batch_size < 1 || (size_t)batch_size > d->rows) {
        gm_error_set(err, GM_ERR_INVALID,
                     "train.batch_size: %d is not in 1..%zu, the rows of "
                     "dataset %s",
                     batch_size, d->rows, d->name);
        return NULL;
    }
    if (d->rows > INT_MAX) {
        gm_error_set(err, GM_ERR_INVALID,
                     "dataset %s: %zu rows is more than a batcher can index",
                     d->name, d->rows);
        return NULL;
    }
    gm_batcher *b = calloc(1, sizeof *b);
    int *order = malloc(d->rows * sizeof *order);
    if (!b || !order) {
        free(b);
        free(order);
        gm_error_set(err, GM_ERR_NOMEM,
                     "batcher: out of memory for %zu rows of dataset %s",
                     d->rows, d->name);
        return NULL;
    }
    for (size_t i = 0; i < d->rows; i++)
        order[i] = (int)i;
    b->d = d;
    b->batch_size = batch_size;
    b->rng = data_stream;
    b->order = order;
    b->per_epoch = d->rows / (size_t)batch_size;
    start_epoch(b);
    return b;
}

void gm_batcher_next(gm_batcher *b, float *out) {
    size_t dim = (size_t)b->d->dim;
    for (int i = 0; i < b->batch_size; i++) {
        size_t row = (size_t)b->order[b->next + (size_t)i];
        memcpy(out + (size_t)i * dim, b->d->data + row * dim,
               dim * sizeof *out);
    }
    b->next += (size_t)b->batch_size;
    if (b->next / (size_t)b->batch_size == b->per_epoch) {
        b->epoch++;
        start_epoch(b);
    }
}

long gm_batcher_epoch(const gm_batcher *b) { return b->epoch; }

size_t gm_batcher_batches_per_epoch(const gm_batcher *b) {
    return b->per_epoch;
}

void gm_batcher_free(gm_batcher *b) {
    if (!b) return;
    free(b->order);
    free(b);
}
