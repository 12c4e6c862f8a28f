#include "gm/status.h"

#include <stdarg.h>
#include <string.h>

gm_status gm_error_set(gm_error *err, gm_status status, const char *fmt, ...) {
    if (err) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void gm_error_clear(gm_error *err) {
    if (err) {
        err->status = GM_OK;
        err->message[0] = '\0';
    }
}

const char *gm_status_name(gm_status status) {
    static const char *const names[] = {
        [GM_OK] = "ok",
        [GM_ERR_INVALID] = "invalid argument",
        [GM_ERR_SHAPE] = "shape mismatch",
        [GM_ERR_NOT_FOUND] = "not found",
        [GM_ERR_NOMEM] = "out of memory",
        [GM_ERR_IO] = "input/output error",
        [GM_ERR_STATE] = "wrong state",
        [GM_ERR_NUMERIC] = "non-finite value",
        [GM_INTERRUPTED] = "interrupted",
    };
    _Static_assert(sizeof names / sizeof names[0] == GM_STATUS_COUNT,
                   "one name per status");
    if ((unsigned)status >= GM_STATUS_COUNT) return "unknown status";
    return names[status];
}
