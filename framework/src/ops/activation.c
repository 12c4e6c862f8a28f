/* Activations. softplus and log_sigmoid are written to neither overflow
 * nor lose precision for large |x|. */
#include <math.h>

#include "elementwise.h"
#include "gm/ops.h"
#include "grad_build.h"
#include "op_table.h"

/* Both written around e = exp(-|x|) <= 1, which neither overflows nor
 * loses precision for large |x|. */
static inline float sigmoidf(float x) {
    float e = gm_exp_nonpos(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
static inline float softplusf(float x) {
    return (x < 0.0f ? 0.0f : x) + gm_log1p_unit(gm_exp_nonpos(-fabsf(x)));
}

/* Gradient builders: the adjoint times the derivative, as ops on the
 * op's input x and output y; relu's and leaky_relu's are one relu_mask,
 * the other kinks' masks are step(x). */
static gm_node *relu_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_relu_mask(n->graph, up, n->in[0], 0.0f);
}

static gm_node *leaky_relu_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_relu_mask(n->graph, up, n->in[0], n->p[0]);
}

/* step(x) + (1 - step(x)) (y + alpha): alpha e^x = y + alpha below 0 */
static gm_node *elu_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    gm_node *mask = gm_step(g, n->in[0]);
    gm_node *below = gm_add_scalar(g, gm_neg(g, mask), 1.0f);
    gm_node *d =
        gm_add(g, mask, gm_mul(g, below, gm_add_scalar(g, n, n->p[0])));
    return gm_mul(g, up, d);
}

/* 1 - y^2 */
static gm_node *tanh_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    return gm_mul(g, up, gm_add_scalar(g, gm_neg(g, gm_square(g, n)), 1.0f));
}

/* y (1 - y) */
static gm_node *sigmoid_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    gm_node *d = gm_mul(g, n, gm_add_scalar(g, gm_neg(g, n), 1.0f));
    return gm_mul(g, up, d);
}

static gm_node *softplus_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_mul(n->graph, up, gm_sigmoid(n->graph, n->in[0]));
}

static gm_node *log_sigmoid_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    return gm_mul(g, up, gm_sigmoid(g, gm_neg(g, n->in[0])));
}

/* Derivatives written as arithmetic on a comparison, which vectorises
 * where a branch does not. */
GM_UNARY_OP(relu, x > 0.0f ? x : 0.0f, (float)(x > 0.0f), relu_grad);
GM_UNARY_OP(leaky_relu, x > 0.0f ? x : p[0] * x,
            p[0] + (1.0f - p[0]) * (float)(x > 0.0f), leaky_relu_grad);
GM_UNARY_OP(elu, x > 0.0f ? x : p[0] * expm1f(x), x > 0.0f ? 1.0f : y + p[0],
            elu_grad);
GM_UNARY_OP(tanh, tanhf(x), 1.0f - y * y, tanh_grad);
GM_UNARY_OP(sigmoid, sigmoidf(x), y *(1.0f - y), sigmoid_grad);
GM_UNARY_OP(softplus, softplusf(x), sigmoidf(x), softplus_grad);
GM_UNARY_OP(log_sigmoid, -softplusf(-x), sigmoidf(-x), log_sigmoid_grad);

/* step(x) = 1 where x > 0, else 0: relu's derivative, the mask its
 * gradient builder multiplies by. Piecewise constant, so no gradient flows
 * through it (its derivative is 0 wherever it exists). */
GM_MULTIVERSION
static void step_forward(gm_node *n) {
    const float *restrict xs = n->in[0]->data;
    float *restrict ys = n->data;
    for (size_t i = 0; i < n->numel; i++)
        ys[i] = (float)(xs[i] > 0.0f);
}

const gm_op_def gm_op_step = {
    .name = "step",
    .arity = 1,
    .shape = gm_shape_same_as_input,
    .forward = step_forward,
    .flags = GM_OP_STOP_GRAD,
};

/* relu_mask(a, x, slope) = a where x > 0, slope * a elsewhere: the
 * adjoint a times a (leaky) ReLU's derivative at x, the relu builders'
 * mask in one pass where step, scale, add_scalar and mul took up to four.
 * a * (x > 0 ? 1 : slope) is the product mul(a, step(x)) made (slope 0).
 * x's derivative is 0 wherever it exists, so x is read through a detach,
 * as step reads it: backward neither reaches x through the mask nor runs
 * the ops that made x for it, and gm_grad asks only for a's gradient. */
static gm_status relu_mask_shape(const gm_node *n, gm_shape *out,
                                 gm_error *err) {
    const gm_shape *a = &n->in[0]->shape, *x = &n->in[1]->shape;
    char sa[64], sx[64];
    if (!gm_shape_equal(a, x))
        return gm_error_set(err, GM_ERR_SHAPE,
                            "relu_mask: the adjoint %s and x %s differ",
                            gm_shape_str(a, sa, sizeof sa),
                            gm_shape_str(x, sx, sizeof sx));
    *out = *a;
    return GM_OK;
}

GM_MULTIVERSION
static void relu_mask_forward(gm_node *n) {
    const float *restrict a = n->in[0]->data, *restrict x = n->in[1]->data;
    float *restrict y = n->data;
    const float slope = n->p[0];
    for (size_t i = 0; i < n->numel; i++)
        y[i] = a[i] * (x[i] > 0.0f ? 1.0f : slope);
}

/* Overwrites a's gradient where only this op writes it (a full-size
 * product's, in the builders' graphs), which then need not be cleared. */
GM_MULTIVERSION
static void relu_mask_backward(gm_node *n) {
    gm_node *a = n->in[0];
    float *restrict da = a->grad;
    if (!da) return;
    const float *restrict x = n->in[1]->data, *restrict dy = n->grad;
    const float slope = n->p[0];
    if (a->grad_fresh)
        for (size_t i = 0; i < n->numel; i++)
            da[i] = dy[i] * (x[i] > 0.0f ? 1.0f : slope);
    else
        for (size_t i = 0; i < n->numel; i++)
            da[i] += dy[i] * (x[i] > 0.0f ? 1.0f : slope);
}

/* Input 1 is a detach, which passes nothing: only a's is asked for, the
 * adjoint masked by the same detach. */
static gm_node *relu_mask_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_node *in[2] = {up, n->in[1]};
    return gm_node_new(n->graph, &gm_op_relu_mask, in, 2, n->p, 1);
}

const gm_op_def gm_op_relu_mask = {
    .name = "relu_mask",
    .arity = 2,
    .shape = relu_mask_shape,
    .forward = relu_mask_forward,
    .backward = relu_mask_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = relu_mask_grad,
};

gm_node *gm_relu_mask(gm_graph *g, gm_node *a, gm_node *x, float slope) {
    gm_node *in[2] = {a, gm_detach(g, x)};
    return gm_node_new(g, &gm_op_relu_mask, in, 2, &slope, 1);
}

gm_node *gm_relu(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_relu, &x, 1, NULL, 0);
}
gm_node *gm_leaky_relu(gm_graph *g, gm_node *x, float slope) {
    return gm_node_new(g, &gm_op_leaky_relu, &x, 1, &slope, 1);
}
gm_node *gm_elu(gm_graph *g, gm_node *x, float alpha) {
    return gm_node_new(g, &gm_op_elu, &x, 1, &alpha, 1);
}
gm_node *gm_tanh(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_tanh, &x, 1, NULL, 0);
}
gm_node *gm_sigmoid(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_sigmoid, &x, 1, NULL, 0);
}
gm_node *gm_softplus(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_softplus, &x, 1, NULL, 0);
}
gm_node *gm_log_sigmoid(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_log_sigmoid, &x, 1, NULL, 0);
}
gm_node *gm_step(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_step, &x, 1, NULL, 0);
}
