/* Arithmetic: add, sub, mul, div with broadcasting; scale, shift, negate. */
#include <string.h>

#include "elementwise.h"
#include "gm/ops.h"
#include "grad_build.h"
#include "op_table.h"

GM_MULTIVERSION
static void add_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    GM_BCAST_LOOP(l, y[i] = a[i0] + b[i1];);
}

/* A fresh gradient (GM_OP_OVERWRITES) of a full-shape input is written
 * with =; a broadcast one is cleared first, since its elements add up
 * over rows or columns. */
GM_MULTIVERSION
static void add_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *dy = n->grad;
    for (int k = 0; k < 2; k++) {
        gm_node *in = n->in[k];
        float *d = in->grad;
        if (!d) continue;
        if (in->grad_fresh && l.kind[k] == GM_BCAST_FULL) {
            memcpy(d, dy, n->numel * sizeof(float));
            continue;
        }
        if (in->grad_fresh) memset(d, 0, in->numel * sizeof(float));
        if (k == 0)
            GM_BCAST_LOOP(l, d[i0] += dy[i];);
        else
            GM_BCAST_LOOP(l, d[i1] += dy[i];);
    }
}

GM_MULTIVERSION
static void sub_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    GM_BCAST_LOOP(l, y[i] = a[i0] - b[i1];);
}

GM_MULTIVERSION
static void sub_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *da = n->in[0]->grad, *db = n->in[1]->grad;
    const float *dy = n->grad;
    if (da) GM_BCAST_LOOP(l, da[i0] += dy[i];);
    if (db) GM_BCAST_LOOP(l, db[i1] -= dy[i];);
}

GM_MULTIVERSION
static void mul_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    GM_BCAST_LOOP(l, y[i] = a[i0] * b[i1];);
}

GM_MULTIVERSION
static void mul_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *a = n->in[0]->data, *b = n->in[1]->data, *dy = n->grad;
    float *da = n->in[0]->grad, *db = n->in[1]->grad;
    if (da) GM_BCAST_LOOP(l, da[i0] += dy[i] * b[i1];);
    if (db) GM_BCAST_LOOP(l, db[i1] += dy[i] * a[i0];);
}

GM_MULTIVERSION
static void div_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    GM_BCAST_LOOP(l, y[i] = a[i0] / b[i1];);
}

GM_MULTIVERSION
static void div_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *b = n->in[1]->data, *y = n->data, *dy = n->grad;
    float *da = n->in[0]->grad, *db = n->in[1]->grad;
    if (da) GM_BCAST_LOOP(l, da[i0] += dy[i] / b[i1];);
    /* d(a/b)/db = -a/b^2 = -y/b */
    if (db) GM_BCAST_LOOP(l, db[i1] -= dy[i] * y[i] / b[i1];);
}

/* Gradient builders: the adjoint times the partial derivative, summed
 * back to the operand's shape where it broadcast. The products use the
 * *_bcast forms, since the other operand may be a row or column. */
static gm_node *add_grad(gm_node *n, int i, gm_node *up) {
    return gm_grad_reduce_to(up, n->in[i]);
}

static gm_node *sub_grad(gm_node *n, int i, gm_node *up) {
    return gm_grad_reduce_to(i == 0 ? up : gm_neg(n->graph, up), n->in[i]);
}

static gm_node *mul_grad(gm_node *n, int i, gm_node *up) {
    return gm_grad_reduce_to(gm_mul_bcast(n->graph, up, n->in[1 - i]),
                             n->in[i]);
}

/* d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b */
static gm_node *div_grad(gm_node *n, int i, gm_node *up) {
    gm_graph *g = n->graph;
    gm_node *b = n->in[1];
    gm_node *d = i == 0 ? gm_div_bcast(g, up, b)
                        : gm_neg(g, gm_div_bcast(g, gm_mul(g, up, n), b));
    return gm_grad_reduce_to(d, n->in[i]);
}

#define BINARY_DEF(NAME)                                                       \
    const gm_op_def gm_op_##NAME = {                                           \
        .name = #NAME,                                                         \
        .arity = 2,                                                            \
        .shape = gm_shape_broadcast,                                           \
        .forward = NAME##_forward,                                             \
        .backward = NAME##_backward,                                           \
        .grad = NAME##_grad,                                                   \
    }

const gm_op_def gm_op_add = {
    .name = "add",
    .arity = 2,
    .shape = gm_shape_broadcast,
    .forward = add_forward,
    .backward = add_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = add_grad,
};
BINARY_DEF(sub);
BINARY_DEF(mul);
BINARY_DEF(div);

static gm_node *scale_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_scale(n->graph, up, n->p[0]);
}

static gm_node *add_scalar_grad(gm_node *n, int i, gm_node *up) {
    (void)n, (void)i;
    return up;
}

static gm_node *neg_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_neg(n->graph, up);
}

GM_UNARY_OP(scale, p[0] * x, p[0], scale_grad);
GM_UNARY_OP(add_scalar, x + p[0], 1.0f, add_scalar_grad);
GM_UNARY_OP(neg, -x, -1.0f, neg_grad);

/* Parameter 0 says whether a row or column may be repeated
 * (gm_shape_broadcast). */
static gm_node *binary(gm_graph *g, const gm_op_def *def, gm_node *a,
                       gm_node *b, bool repeat) {
    gm_node *in[2] = {a, b};
    float p = repeat ? 1.0f : 0.0f;
    return gm_node_new(g, def, in, 2, &p, 1);
}

gm_node *gm_add(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_add, a, b, false);
}
gm_node *gm_sub(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_sub, a, b, false);
}
gm_node *gm_mul(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_mul, a, b, false);
}
gm_node *gm_div(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_div, a, b, false);
}
gm_node *gm_add_bcast(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_add, a, b, true);
}
gm_node *gm_sub_bcast(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_sub, a, b, true);
}
gm_node *gm_mul_bcast(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_mul, a, b, true);
}
gm_node *gm_div_bcast(gm_graph *g, gm_node *a, gm_node *b) {
    return binary(g, &gm_op_div, a, b, true);
}
gm_node *gm_scale(gm_graph *g, gm_node *x, float alpha) {
    return gm_node_new(g, &gm_op_scale, &x, 1, &alpha, 1);
}
gm_node *gm_add_scalar(gm_graph *g, gm_node *x, float c) {
    return gm_node_new(g, &gm_op_add_scalar, &x, 1, &c, 1);
}
gm_node *gm_neg(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_neg, &x, 1, NULL, 0);
}
