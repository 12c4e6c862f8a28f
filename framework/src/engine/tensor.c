#include "gm/tensor.h"

#include <stdio.h>

bool gm_shape_make(gm_shape *out, const int *shape, int ndim) {
    if (!shape || ndim < 1 || ndim > GM_MAX_DIMS) return false;
    out->ndim = ndim;
    for (int i = 0; i < GM_MAX_DIMS; i++) out->dim[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1) return false;
    return true;
}

size_t gm_shape_numel(const gm_shape *s) {
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= (size_t)s->dim[i];
    return n;
}

int gm_shape_cols(const gm_shape *s) { return s->dim[s->ndim - 1]; }

int gm_shape_rows(const gm_shape *s) {
    int r = 1;
    for (int i = 0; i < s->ndim - 1; i++) r *= s->dim[i];
    return r;
}

bool gm_shape_equal(const gm_shape *a, const gm_shape *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

char *gm_shape_str(const gm_shape *s, char *buf, size_t n) {
    size_t used = 0;
    int w = snprintf(buf, n, "[");
    for (int i = 0; i < s->ndim && w >= 0; i++) {
        used += (size_t)w;
        if (used >= n) break;
        w = snprintf(buf + used, n - used, i ? ", %d" : "%d", s->dim[i]);
    }
    if (w >= 0 && (used += (size_t)w) < n) snprintf(buf + used, n - used, "]");
    return buf;
}
