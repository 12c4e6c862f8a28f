/* Shuffled mini-batches over a dataset's train split.
 *
 * The row order is a permutation drawn from the batcher's own stream at
 * creation and again after each epoch; a batch copies batch_size rows in
 * that order. Everything is allocated at creation, nothing per batch. */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
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

void gm_batcher_next(gm_batcher *b, float *out, float *labels) {
    size_t dim = (size_t)b->d->dim;
    GM_ASSERT(!labels || b->d->labels);
    for (int i = 0; i < b->batch_size; i++) {
        size_t row = (size_t)b->order[b->next + (size_t)i];
        memcpy(out + (size_t)i * dim, b->d->data + row * dim,
               dim * sizeof *out);
        if (labels) labels[i] = (float)b->d->labels[row];
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

static void join(char *buf, size_t n, const char *prefix, const char *name) {
    snprintf(buf, n, "%s/%s", prefix, name);
}

gm_status gm_batcher_save_state(const gm_batcher *b, gm_state *s,
                                const char *prefix, gm_error *err) {
    char name[256];
    int64_t rows[1] = {(int64_t)b->d->rows};
    join(name, sizeof name, prefix, "rng");
    gm_status st = gm_state_put_rng(s, name, &b->rng, err);
    join(name, sizeof name, prefix, "order");
    if (st == GM_OK)
        st = gm_state_put(s, name, GM_STATE_I32, 1, rows, b->order, err);
    join(name, sizeof name, prefix, "next");
    if (st == GM_OK) st = gm_state_put_i64(s, name, (int64_t)b->next, err);
    join(name, sizeof name, prefix, "epoch");
    if (st == GM_OK) st = gm_state_put_i64(s, name, b->epoch, err);
    return st;
}

gm_status gm_batcher_load_state(gm_batcher *b, const gm_state *s,
                                const char *prefix, gm_error *err) {
    char name[256];
    int64_t next = 0, epoch = 0;
    join(name, sizeof name, prefix, "rng");
    gm_status st = gm_state_get_rng(s, name, &b->rng, err);
    join(name, sizeof name, prefix, "order");
    if (st == GM_OK)
        st = gm_state_get(s, name, GM_STATE_I32, b->d->rows, b->order, err);
    join(name, sizeof name, prefix, "next");
    if (st == GM_OK) st = gm_state_get_i64(s, name, &next, err);
    join(name, sizeof name, prefix, "epoch");
    if (st == GM_OK) st = gm_state_get_i64(s, name, &epoch, err);
    if (st != GM_OK) return st;
    size_t batch = (size_t)b->batch_size;
    bool valid = next >= 0 && (size_t)next % batch == 0 &&
                 (size_t)next / batch < b->per_epoch && epoch >= 0;
    for (size_t i = 0; valid && i < b->d->rows; i++)
        valid = b->order[i] >= 0 && (size_t)b->order[i] < b->d->rows;
    if (!valid)
        return gm_error_set(err, GM_ERR_INVALID,
                            "state: %s: not a batcher position over %zu rows",
                            prefix, b->d->rows);
    b->next = (size_t)next;
    b->epoch = epoch;
    return GM_OK;
}

void gm_batcher_free(gm_batcher *b) {
    if (!b) return;
    free(b->order);
    free(b);
}
