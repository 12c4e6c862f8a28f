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
 * op's input x and output y; the kinks' masks are step(x). */
static gm_node *relu_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_mul(n->graph, up, gm_step(n->graph, n->in[0]));
}

/* slope + (1 - slope) step(x) */
static gm_node *leaky_relu_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    float slope = n->p[0];
    gm_node *mask = gm_step(g, n->in[0]);
    gm_node *d = gm_add_scalar(g, gm_scale(g, mask, 1.0f - slope), slope);
    return gm_mul(g, up, d);
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
