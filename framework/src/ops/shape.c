/* Shape ops: column slices and concatenation, reshape, detach. */
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "grad_build.h"
#include "op_table.h"

/* p[0]: first column, p[1]: number of columns. */
static gm_status slice_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *x = &n->in[0]->shape;
    int start = (int)n->p[0], len = (int)n->p[1];
    char s[64];
    if (x->ndim != 2 || start < 0 || len < 1 || start + len > x->dim[1])
        return gm_error_set(err, GM_ERR_SHAPE,
                            "slice_cols: columns [%d, %d) do not fit %s", start,
                            start + len, gm_shape_str(x, s, sizeof s));
    gm_shape_make(out, (int[]){x->dim[0], len}, 2);
    return GM_OK;
}

static void slice_forward(gm_node *n) {
    const gm_node *x = n->in[0];
    size_t cols = (size_t)x->shape.dim[1], len = (size_t)n->shape.dim[1];
    size_t start = (size_t)n->p[0];
    for (int r = 0; r < n->shape.dim[0]; r++)
        memcpy(n->data + r * len, x->data + r * cols + start,
               len * sizeof(float));
}

static void slice_backward(gm_node *n) {
    float *dx = n->in[0]->grad;
    if (!dx) return;
    size_t cols = (size_t)n->in[0]->shape.dim[1], len = (size_t)n->shape.dim[1];
    size_t start = (size_t)n->p[0];
    for (size_t r = 0; r < (size_t)n->shape.dim[0]; r++)
        for (size_t c = 0; c < len; c++)
            dx[r * cols + start + c] += n->grad[r * len + c];
}

/* The adjoint in the sliced columns, zeros beside it. */
static gm_node *slice_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    int rows = n->shape.dim[0], cols = n->in[0]->shape.dim[1];
    int start = (int)n->p[0], end = start + (int)n->p[1];
    gm_node *parts[3];
    int n_parts = 0;
    gm_shape s;
    if (start > 0 && gm_shape_make(&s, (int[]){rows, start}, 2))
        parts[n_parts++] = gm_grad_zeros(g, &s);
    parts[n_parts++] = up;
    if (end < cols && gm_shape_make(&s, (int[]){rows, cols - end}, 2))
        parts[n_parts++] = gm_grad_zeros(g, &s);
    return n_parts == 1 ? up : gm_concat_cols(g, parts, n_parts);
}

const gm_op_def gm_op_slice_cols = {
    .name = "slice_cols",
    .arity = 1,
    .shape = slice_shape,
    .forward = slice_forward,
    .backward = slice_backward,
    .grad = slice_grad,
};

static gm_status concat_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    int rows = n->in[0]->shape.dim[0], cols = 0;
    for (int i = 0; i < n->n_in; i++) {
        const gm_shape *x = &n->in[i]->shape;
        char a[64], b[64];
        if (x->ndim != 2 || x->dim[0] != rows)
            return gm_error_set(err, GM_ERR_SHAPE,
                                "concat_cols: inputs must be 2-D with equal "
                                "rows, got %s and %s",
                                gm_shape_str(&n->in[0]->shape, a, sizeof a),
                                gm_shape_str(x, b, sizeof b));
        cols += x->dim[1];
    }
    gm_shape_make(out, (int[]){rows, cols}, 2);
    return GM_OK;
}

static void concat_forward(gm_node *n) {
    size_t rows = (size_t)n->shape.dim[0], cols = (size_t)n->shape.dim[1];
    size_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
        size_t w = (size_t)n->in[i]->shape.dim[1];
        for (size_t r = 0; r < rows; r++)
            memcpy(n->data + r * cols + at, n->in[i]->data + r * w,
                   w * sizeof(float));
        at += w;
    }
}

static void concat_backward(gm_node *n) {
    size_t rows = (size_t)n->shape.dim[0], cols = (size_t)n->shape.dim[1];
    size_t at = 0;
    for (int i = 0; i < n->n_in; i++) {
        size_t w = (size_t)n->in[i]->shape.dim[1];
        float *dx = n->in[i]->grad;
        for (size_t r = 0; dx && r < rows; r++)
            for (size_t c = 0; c < w; c++)
                dx[r * w + c] += n->grad[r * cols + at + c];
        at += w;
    }
}

/* Input i's columns of the adjoint. */
static gm_node *concat_grad(gm_node *n, int i, gm_node *up) {
    int at = 0;
    for (int k = 0; k < i; k++)
        at += n->in[k]->shape.dim[1];
    return gm_slice_cols(n->graph, up, at, n->in[i]->shape.dim[1]);
}

const gm_op_def gm_op_concat_cols = {
    .name = "concat_cols",
    .arity = -1,
    .shape = concat_shape,
    .forward = concat_forward,
    .backward = concat_backward,
    .grad = concat_grad,
};

/* p[0..3]: the new dimensions, 0 past the last. */
static gm_status reshape_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    int dims[GM_MAX_DIMS] = {0}, ndim = 0;
    while (ndim < GM_MAX_DIMS && n->p[ndim] >= 1.0f) {
        dims[ndim] = (int)n->p[ndim];
        ndim++;
    }
    char a[64], b[64];
    if (!gm_shape_make(out, dims, ndim) ||
        gm_shape_numel(out) != n->in[0]->numel)
        return gm_error_set(err, GM_ERR_SHAPE, "reshape: cannot view %s as %s",
                            gm_shape_str(&n->in[0]->shape, a, sizeof a),
                            ndim ? gm_shape_str(out, b, sizeof b) : "[]");
    return GM_OK;
}

/* Views share their input's buffers, so there is nothing to compute. */
static void view_noop(gm_node *n) { (void)n; }

static gm_node *reshape_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_grad_as_shape(up, &n->in[0]->shape);
}

const gm_op_def gm_op_reshape = {
    .name = "reshape",
    .arity = 1,
    .shape = reshape_shape,
    .forward = view_noop,
    .backward = view_noop,
    .flags = GM_OP_VIEW,
    .grad = reshape_grad,
};

const gm_op_def gm_op_detach = {
    .name = "detach",
    .arity = 1,
    .shape = gm_shape_same_as_input,
    .forward = view_noop,
    .flags = GM_OP_VIEW | GM_OP_STOP_GRAD,
};

gm_node *gm_slice_cols(gm_graph *g, gm_node *x, int start, int len) {
    float p[2] = {(float)start, (float)len};
    return gm_node_new(g, &gm_op_slice_cols, &x, 1, p, 2);
}

gm_node *gm_concat_cols(gm_graph *g, gm_node *const *xs, int n) {
    return gm_node_new(g, &gm_op_concat_cols, xs, n, NULL, 0);
}

gm_node *gm_reshape(gm_graph *g, gm_node *x, const int *shape, int ndim) {
    float p[GM_MAX_DIMS] = {0};
    for (int i = 0; shape && i < ndim && i < GM_MAX_DIMS; i++)
        p[i] = (float)shape[i];
    if (ndim < 1 || ndim > GM_MAX_DIMS) p[0] = 0.0f; /* rejected as [] */
    return gm_node_new(g, &gm_op_reshape, &x, 1, p, GM_MAX_DIMS);
}

gm_node *gm_detach(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_detach, &x, 1, NULL, 0);
}
