/* Reductions: sum and mean (over all, per row, per column), logsumexp per
 * row. Sums accumulate in double: losses are sums of many small terms. */
#include <math.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "grad_build.h"
#include "simd/multiversion.h"
#include "op_table.h"

/* p[0]: the gm_axis. */
static gm_status reduce_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *x = &n->in[0]->shape;
    int rows = gm_shape_rows(x), cols = gm_shape_cols(x);
    switch ((gm_axis)n->p[0]) {
    case GM_AXIS_ALL: gm_shape_make(out, (int[]){1}, 1); return GM_OK;
    case GM_AXIS_PER_ROW: gm_shape_make(out, (int[]){rows, 1}, 2); return GM_OK;
    case GM_AXIS_PER_COL: gm_shape_make(out, (int[]){1, cols}, 2); return GM_OK;
    }
    return gm_error_set(err, GM_ERR_INVALID, "%s: unknown axis %g",
                        n->def->name, (double)n->p[0]);
}

/* How many input elements fold into each output element. */
static double reduce_count(const gm_node *n) {
    const gm_shape *x = &n->in[0]->shape;
    switch ((gm_axis)n->p[0]) {
    case GM_AXIS_PER_ROW: return gm_shape_cols(x);
    case GM_AXIS_PER_COL: return gm_shape_rows(x);
    default: return (double)n->in[0]->numel;
    }
}

/* x[0] + ... + x[n-1] in double, as SUM_LANES partial sums in a fixed
 * order: vectorised, independent of the machine, and (the sums being
 * short) as accurate as a single running sum. */
enum { SUM_LANES = 16 };

static inline double sum_lanes(const float *x, size_t n) {
    double acc[SUM_LANES] = {0};
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++) acc[k] += x[i + k];
    double s = 0.0;
    for (; i < n; i++) s += x[i];
    for (int k = 0; k < SUM_LANES; k++) s += acc[k];
    return s;
}

GM_MULTIVERSION
static void reduce_forward(gm_node *n, double scale) {
    const float *x = n->in[0]->data;
    size_t rows = (size_t)gm_shape_rows(&n->in[0]->shape);
    size_t cols = (size_t)gm_shape_cols(&n->in[0]->shape);
    switch ((gm_axis)n->p[0]) {
    case GM_AXIS_ALL:
        n->data[0] = (float)(sum_lanes(x, rows * cols) * scale);
        break;
    case GM_AXIS_PER_ROW:
        for (size_t r = 0; r < rows; r++)
            n->data[r] = (float)(sum_lanes(x + r * cols, cols) * scale);
        break;
    case GM_AXIS_PER_COL:
        for (size_t c = 0; c < cols; c++) {
            double s = 0.0;
            for (size_t r = 0; r < rows; r++)
                s += x[r * cols + c];
            n->data[c] = (float)(s * scale);
        }
        break;
    }
}

GM_MULTIVERSION
static void reduce_backward(gm_node *n, float scale) {
    float *dx = n->in[0]->grad;
    if (!dx) return;
    const float *dy = n->grad;
    size_t rows = (size_t)gm_shape_rows(&n->in[0]->shape);
    size_t cols = (size_t)gm_shape_cols(&n->in[0]->shape);
    gm_axis axis = (gm_axis)n->p[0];
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            float d = axis == GM_AXIS_ALL       ? dy[0]
                      : axis == GM_AXIS_PER_ROW ? dy[r]
                                                : dy[c];
            dx[r * cols + c] += d * scale;
        }
    }
}

static void sum_forward(gm_node *n) { reduce_forward(n, 1.0); }
static void sum_backward(gm_node *n) { reduce_backward(n, 1.0f); }
static void mean_forward(gm_node *n) {
    reduce_forward(n, 1.0 / reduce_count(n));
}
static void mean_backward(gm_node *n) {
    reduce_backward(n, (float)(1.0 / reduce_count(n)));
}

/* Every input element gets the adjoint of the output element it folds
 * into (divided by the count for mean). */
static gm_node *sum_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_grad_expand(up, n->in[0]);
}

static gm_node *mean_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_node *scaled = gm_scale(n->graph, up, (float)(1.0 / reduce_count(n)));
    return gm_grad_expand(scaled, n->in[0]);
}

const gm_op_def gm_op_sum = {
    .name = "sum",
    .arity = 1,
    .shape = reduce_shape,
    .forward = sum_forward,
    .backward = sum_backward,
    .grad = sum_grad,
};

const gm_op_def gm_op_mean = {
    .name = "mean",
    .arity = 1,
    .shape = reduce_shape,
    .forward = mean_forward,
    .backward = mean_backward,
    .grad = mean_grad,
};

static gm_status logsumexp_shape(const gm_node *n, gm_shape *out,
                                 gm_error *err) {
    (void)err;
    return gm_shape_make(out, (int[]){gm_shape_rows(&n->in[0]->shape), 1}, 2)
               ? GM_OK
               : GM_ERR_SHAPE;
}

GM_MULTIVERSION
static void logsumexp_forward(gm_node *n) {
    const float *x = n->in[0]->data;
    size_t rows = n->numel, cols = (size_t)gm_shape_cols(&n->in[0]->shape);
    for (size_t r = 0; r < rows; r++) {
        n->data[r] = gm_logsumexp_row(x + r * cols, cols);
    }
}

/* d lse / d x_c = softmax(x)_c = exp(x_c - lse) */
GM_MULTIVERSION
static void logsumexp_backward(gm_node *n) {
    float *dx = n->in[0]->grad;
    if (!dx) return;
    const float *x = n->in[0]->data;
    size_t rows = n->numel, cols = (size_t)gm_shape_cols(&n->in[0]->shape);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            dx[r * cols + c] += n->grad[r] * expf(x[r * cols + c] - n->data[r]);
}

/* softmax(x) times the row's adjoint, softmax as exp(x - lse) */
static gm_node *logsumexp_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    gm_node *x = n->in[0];
    gm_node *softmax = gm_exp(g, gm_sub_bcast(g, x, n));
    return gm_grad_as_shape(gm_mul_bcast(g, softmax, up), &x->shape);
}

const gm_op_def gm_op_logsumexp_rows = {
    .name = "logsumexp_rows",
    .arity = 1,
    .shape = logsumexp_shape,
    .forward = logsumexp_forward,
    .backward = logsumexp_backward,
    .grad = logsumexp_grad,
};

gm_node *gm_sum(gm_graph *g, gm_node *x, gm_axis axis) {
    float p = (float)axis;
    return gm_node_new(g, &gm_op_sum, &x, 1, &p, 1);
}
gm_node *gm_mean(gm_graph *g, gm_node *x, gm_axis axis) {
    float p = (float)axis;
    return gm_node_new(g, &gm_op_mean, &x, 1, &p, 1);
}
gm_node *gm_logsumexp_rows(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_logsumexp_rows, &x, 1, NULL, 0);
}
