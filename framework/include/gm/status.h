/* gm/status.h: how gm reports failure.
 *
 * Runtime failures (bad shapes, files, YAML, memory) are returned as a
 * gm_status and described in a gm_error the caller owns. Library code never
 * exits; only the command line decides how to end. Invariants that only a
 * bug in gm can break use GM_ASSERT, which names file and line and aborts. */
#ifndef GM_STATUS_H
#define GM_STATUS_H

#include <stdio.h>
#include <stdlib.h>

#include "gm/api.h"

GM_API_BEGIN

typedef enum gm_status {
    GM_OK = 0,
    GM_ERR_INVALID,   /* an argument or value is out of range */
    GM_ERR_SHAPE,     /* tensor shapes do not fit an op */
    GM_ERR_NOT_FOUND, /* a name, key or file does not exist */
    GM_ERR_NOMEM,     /* an allocation failed */
    GM_ERR_IO,        /* reading or writing a file failed */
    GM_ERR_STATE,     /* a call came at the wrong time (e.g. before compile) */
    GM_ERR_NUMERIC,   /* NaN or Inf where a finite number was needed */
    GM_INTERRUPTED,   /* stopped on request; the work so far is kept */
    GM_STATUS_COUNT
} gm_status;

#define GM_ERROR_MAX 512

/* A status and a one-line message saying what failed and where. */
typedef struct gm_error {
    gm_status status;
    char message[GM_ERROR_MAX];
} gm_error;

/* Records status and a printf-style message in err (err may be NULL);
 * returns status so callers can write `return gm_error_set(...)`. */
gm_status gm_error_set(gm_error *err, gm_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to GM_OK with an empty message. */
void gm_error_clear(gm_error *err);

/* A short name for a status ("shape mismatch", ...). */
const char *gm_status_name(gm_status status);

#define GM_ASSERT(cond)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: gm internal error: %s\n", __FILE__,        \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

GM_API_END

#endif
