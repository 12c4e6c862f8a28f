#include "gm/params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simd/grad_norm_lanes.h"
#include "simd/multiversion.h"

struct gm_params {
    char *name;
    gm_param_view *views;
    int n_views, cap_views;
    float *data, *grad;
    size_t numel, cap_floats;
    bool locked;
};

gm_params *gm_params_create(const char *name) {
    gm_params *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->name = strdup(name ? name : "params");
    if (!p->name) {
        free(p);
        return NULL;
    }
    return p;
}

void gm_params_free(gm_params *p) {
    if (!p) return;
    for (int i = 0; i < p->n_views; i++) free((char *)p->views[i].name);
    free(p->views);
    free(p->data);
    free(p->grad);
    free(p->name);
    free(p);
}

static bool grow_floats(gm_params *p, size_t need) {
    if (need <= p->cap_floats) return true;
    size_t cap = p->cap_floats ? p->cap_floats : 1024;
    while (cap < need) cap *= 2;
    float *d = realloc(p->data, cap * sizeof *d);
    if (!d) return false;
    p->data = d;
    float *g = realloc(p->grad, cap * sizeof *g);
    if (!g) return false;
    p->grad = g;
    p->cap_floats = cap;
    return true;
}

int gm_params_add(gm_params *p, const char *name, const int *shape, int ndim,
                  gm_error *err) {
    if (p->locked) {
        gm_error_set(err, GM_ERR_STATE,
                     "parameter group '%s' is locked: cannot add '%s'",
                     p->name, name);
        return -1;
    }
    gm_shape s;
    if (!name || !gm_shape_make(&s, shape, ndim)) {
        gm_error_set(err, GM_ERR_INVALID,
                     "parameter '%s' in group '%s': bad shape (ndim %d)",
                     name ? name : "(null)", p->name, ndim);
        return -1;
    }
    if (gm_params_find(p, name) >= 0) {
        gm_error_set(err, GM_ERR_INVALID,
                     "parameter group '%s' already has a view named '%s'",
                     p->name, name);
        return -1;
    }
    size_t n = gm_shape_numel(&s);
    if (p->n_views == p->cap_views) {
        int cap = p->cap_views ? 2 * p->cap_views : 16;
        gm_param_view *v = realloc(p->views, (size_t)cap * sizeof *v);
        if (!v) goto nomem;
        p->views = v;
        p->cap_views = cap;
    }
    if (!grow_floats(p, p->numel + n)) goto nomem;
    char *copy = strdup(name);
    if (!copy) goto nomem;
    memset(p->data + p->numel, 0, n * sizeof(float));
    memset(p->grad + p->numel, 0, n * sizeof(float));
    p->views[p->n_views] =
        (gm_param_view){.name = copy, .shape = s, .offset = p->numel, .numel = n};
    p->numel += n;
    return p->n_views++;
nomem:
    gm_error_set(err, GM_ERR_NOMEM, "out of memory adding parameter '%s'", name);
    return -1;
}

void gm_params_lock(gm_params *p) { p->locked = true; }
bool gm_params_locked(const gm_params *p) { return p->locked; }
const char *gm_params_name(const gm_params *p) { return p->name; }
size_t gm_params_numel(const gm_params *p) { return p->numel; }
int gm_params_count(const gm_params *p) { return p->n_views; }

const gm_param_view *gm_params_view(const gm_params *p, int index) {
    if (index < 0 || index >= p->n_views) return NULL;
    return &p->views[index];
}

int gm_params_find(const gm_params *p, const char *name) {
    for (int i = 0; i < p->n_views; i++)
        if (strcmp(p->views[i].name, name) == 0) return i;
    return -1;
}

float *gm_params_data(gm_params *p) { return p->data; }
float *gm_params_grad(gm_params *p) { return p->grad; }
const float *gm_params_data_const(const gm_params *p) { return p->data; }

float *gm_params_view_data(gm_params *p, int index) {
    GM_ASSERT(index >= 0 && index < p->n_views);
    return p->data + p->views[index].offset;
}

float *gm_params_view_grad(gm_params *p, int index) {
    GM_ASSERT(index >= 0 && index < p->n_views);
    return p->grad + p->views[index].offset;
}

void gm_params_zero_grad(gm_params *p) {
    if (p->numel) memset(p->grad, 0, p->numel * sizeof(float));
}

gm_params *gm_params_clone(const gm_params *src, const char *name,
                           gm_error *err) {
    gm_params *p = gm_params_create(name);
    if (!p) goto nomem;
    for (int i = 0; i < src->n_views; i++) {
        const gm_param_view *v = &src->views[i];
        if (gm_params_add(p, v->name, v->shape.dim, v->shape.ndim, err) < 0) {
            gm_params_free(p);
            return NULL;
        }
    }
    if (src->numel) memcpy(p->data, src->data, src->numel * sizeof(float));
    p->locked = true;
    return p;
nomem:
    gm_error_set(err, GM_ERR_NOMEM, "out of memory cloning group '%s'",
                 src->name);
    return NULL;
}

gm_status gm_params_copy_values(gm_params *dst, const gm_params *src,
                                gm_error *err) {
    bool same = dst->n_views == src->n_views && dst->numel == src->numel;
    for (int i = 0; same && i < src->n_views; i++)
        same = gm_shape_equal(&dst->views[i].shape, &src->views[i].shape);
    if (!same)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "parameter groups '%s' and '%s' differ in layout",
                            dst->name, src->name);
    if (src->numel) memcpy(dst->data, src->data, src->numel * sizeof(float));
    return GM_OK;
}

/* In grad_norm_lanes.h's fixed order: the result does not depend on the
 * machine (each square of a float is exact in double, with or without
 * FMA). */
GM_MULTIVERSION
static double sum_squares_in_lanes(const float *g, size_t n) {
    double acc[GM_GRAD_NORM_LANES] = {0};
    size_t i = 0;
    for (; i + GM_GRAD_NORM_LANES <= n; i += GM_GRAD_NORM_LANES)
        for (int k = 0; k < GM_GRAD_NORM_LANES; k++)
            acc[k] += (double)g[i + k] * g[i + k];
    double s = 0.0;
    for (int k = 0; k < GM_GRAD_NORM_LANES; k++) s += acc[k];
    for (; i < n; i++) s += (double)g[i] * g[i];
    return s;
}

/* A plain function around the clones: GCC exports a global target_clones
 * function's resolver whatever its visibility, and libgm exports only its
 * API (gm/api.h). */
double gm_sum_squares_in_lanes(const float *g, size_t n) {
    return sum_squares_in_lanes(g, n);
}

double gm_params_grad_norm(const gm_params *p) {
    return sqrt(gm_sum_squares_in_lanes(p->grad, p->numel));
}

bool gm_params_finite(const gm_params *p) {
    for (size_t i = 0; i < p->numel; i++)
        if (!isfinite(p->data[i]) || !isfinite(p->grad[i])) return false;
    return true;
}

gm_status gm_params_save_state(const gm_params *p, gm_state *s,
                               const char *prefix, gm_error *err) {
    char name[512];
    for (int i = 0; i < gm_params_count(p); i++) {
        const gm_param_view *v = gm_params_view(p, i);
        int64_t dims[GM_STATE_MAX_RANK];
        if (v->shape.ndim > GM_STATE_MAX_RANK)
            return gm_error_set(err, GM_ERR_INVALID,
                                "state: view '%s' has more than %d dims",
                                v->name, GM_STATE_MAX_RANK);
        for (int d = 0; d < v->shape.ndim; d++)
            dims[d] = v->shape.dim[d];
        snprintf(name, sizeof name, "%s/%s", prefix, v->name);
        gm_status st = gm_state_put(s, name, GM_STATE_F32, v->shape.ndim,
                                    dims, gm_params_data_const(p) + v->offset,
                                    err);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

gm_status gm_params_load_state(gm_params *p, const gm_state *s,
                               const char *prefix, gm_error *err) {
    char name[512];
    for (int i = 0; i < gm_params_count(p); i++) {
        const gm_param_view *v = gm_params_view(p, i);
        snprintf(name, sizeof name, "%s/%s", prefix, v->name);
        gm_state_record r;
        bool same = gm_state_find(s, name, &r) && r.rank == v->shape.ndim;
        for (int d = 0; same && d < r.rank; d++)
            same = r.dims[d] == v->shape.dim[d];
        if (!same && gm_state_find(s, name, NULL))
            return gm_error_set(err, GM_ERR_SHAPE,
                                "state: '%s' has another shape than the "
                                "view it is loaded into",
                                name);
        gm_status st = gm_state_get(s, name, GM_STATE_F32, v->numel,
                                    gm_params_data(p) + v->offset, err);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}
