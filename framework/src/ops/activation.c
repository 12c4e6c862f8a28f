/* Activations. softplus and log_sigmoid are written to neither overflow
 * nor lose precision for large |x|. */
#include <math.h>

#include "elementwise.h"
#include "gm/ops.h"
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

/* Derivatives written as arithmetic on a comparison, which vectorises
 * where a branch does not. */
GM_UNARY_OP(relu, x > 0.0f ? x : 0.0f, (float)(x > 0.0f));
GM_UNARY_OP(leaky_relu, x > 0.0f ? x : p[0] * x,
            p[0] + (1.0f - p[0]) * (float)(x > 0.0f));
GM_UNARY_OP(elu, x > 0.0f ? x : p[0] * expm1f(x), x > 0.0f ? 1.0f : y + p[0]);
GM_UNARY_OP(tanh, tanhf(x), 1.0f - y * y);
GM_UNARY_OP(sigmoid, sigmoidf(x), y *(1.0f - y));
GM_UNARY_OP(softplus, softplusf(x), sigmoidf(x));
GM_UNARY_OP(log_sigmoid, -softplusf(-x), sigmoidf(-x));

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
