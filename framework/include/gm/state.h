/* gm/state.h: a run's state as named records in one byte buffer.
 *
 * Everything a run needs to go on exactly as if it had never stopped
 * (step, parameters, optimizer moments, every random stream, the batcher's
 * order, an objective's own state) is written into a gm_state as records:
 * a name, a type, a shape and the values. The buffer is the serialised
 * form itself, so a state can be written to a file (the run file stores
 * one record per dataset under checkpoint/), or sent anywhere as bytes and
 * read back with gm_state_from_bytes.
 *
 * Names are '/'-separated paths ("params/generator/fc1.weight"): each part
 * non-empty, at most 255 bytes, not "." or "..". Values are stored in the
 * host's byte order (little-endian on every machine gm builds for).
 *
 * Layout: the magic "GMSTATE1", then records, each 8-byte aligned:
 *   u32 name_len, u32 type, u32 rank, u32 0, i64 dims[rank],
 *   name (padded to 8), values (padded to 8). */
#ifndef GM_STATE_H
#define GM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gm/api.h"
#include "gm/rng.h"
#include "gm/status.h"

GM_API_BEGIN

#define GM_STATE_MAX_RANK 4

typedef enum gm_state_type {
    GM_STATE_F32,
    GM_STATE_F64,
    GM_STATE_I64,
    GM_STATE_U64,
    GM_STATE_I32,
    GM_STATE_TYPE_COUNT
} gm_state_type;

/* One record, as read back: pointers into the state's buffer, valid until
 * the state next changes. */
typedef struct gm_state_record {
    const char *name; /* not NUL-terminated: name_len bytes */
    size_t name_len;
    gm_state_type type;
    int rank;                        /* 0: a scalar */
    int64_t dims[GM_STATE_MAX_RANK]; /* [rank] */
    size_t count;                    /* product of dims, 1 for a scalar */
    const void *data;
} gm_state_record;

typedef struct gm_state gm_state;

gm_state *gm_state_create(void);
void gm_state_free(gm_state *s);

/* Empties the state, keeping its buffer: refilling a state of the same
 * size allocates nothing. */
void gm_state_reset(gm_state *s);

/* Appends a record; the name must be new. dims may be NULL for rank 0. */
gm_status gm_state_put(gm_state *s, const char *name, gm_state_type type,
                       int rank, const int64_t *dims, const void *data,
                       gm_error *err);

/* Shorthands: a 1-D array of n values, or one scalar. */
gm_status gm_state_put_f32(gm_state *s, const char *name, const float *v,
                           size_t n, gm_error *err);
gm_status gm_state_put_f64(gm_state *s, const char *name, const double *v,
                           size_t n, gm_error *err);
gm_status gm_state_put_i64(gm_state *s, const char *name, int64_t v,
                           gm_error *err);
/* A generator: its four words, the spare normal's bits and has_spare, as
 * u64 [6]. */
gm_status gm_state_put_rng(gm_state *s, const char *name, const gm_rng *r,
                           gm_error *err);

/* Records in the order they were put. */
int gm_state_count(const gm_state *s);
gm_state_record gm_state_at(const gm_state *s, int i);

/* The record named `name`; false if there is none. */
bool gm_state_find(const gm_state *s, const char *name, gm_state_record *out);

/* Copies record `name` into out, which holds `count` values of `type`; the
 * error names the record and what differs (missing, type, size). */
gm_status gm_state_get(const gm_state *s, const char *name, gm_state_type type,
                       size_t count, void *out, gm_error *err);
gm_status gm_state_get_i64(const gm_state *s, const char *name, int64_t *out,
                           gm_error *err);
gm_status gm_state_get_rng(const gm_state *s, const char *name, gm_rng *out,
                           gm_error *err);

/* The serialised state: the buffer itself, valid until the state changes. */
const void *gm_state_bytes(const gm_state *s, size_t *size);

/* Replaces s with the state serialised in bytes[0..size), checking every
 * record; on failure s is left empty. */
gm_status gm_state_from_bytes(gm_state *s, const void *bytes, size_t size,
                              gm_error *err);

/* Bytes of one value of `type`; "f32", "f64", "i64", "u64", "i32". */
size_t gm_state_type_size(gm_state_type type);
const char *gm_state_type_name(gm_state_type type);

GM_API_END

#endif
