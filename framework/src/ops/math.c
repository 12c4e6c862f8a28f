/* Element-wise math: exp, log, square, sqrt, abs. */
#include <math.h>

#include "elementwise.h"
#include "gm/ops.h"
#include "grad_build.h"
#include "op_table.h"

/* Gradient builders: the adjoint times the derivative, as ops on the
 * op's input x and its output y. */
static gm_node *exp_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_mul(n->graph, up, n);
}

static gm_node *log_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_div(n->graph, up, n->in[0]);
}

static gm_node *square_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_mul(n->graph, up, gm_scale(n->graph, n->in[0], 2.0f));
}

static gm_node *sqrt_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    return gm_div(n->graph, gm_scale(n->graph, up, 0.5f), n);
}

/* sign(x) = step(x) - step(-x), 0 at 0 as abs's backward */
static gm_node *abs_grad(gm_node *n, int i, gm_node *up) {
    (void)i;
    gm_graph *g = n->graph;
    gm_node *x = n->in[0];
    gm_node *sign = gm_sub(g, gm_step(g, x), gm_step(g, gm_neg(g, x)));
    return gm_mul(g, up, sign);
}

GM_UNARY_OP(exp, expf(x), y, exp_grad);
GM_UNARY_OP(log, logf(x), 1.0f / x, log_grad);
GM_UNARY_OP(square, x *x, 2.0f * x, square_grad);
GM_UNARY_OP(sqrt, sqrtf(x), 0.5f / y, sqrt_grad);
/* The subgradient at 0 is taken as 0. */
GM_UNARY_OP(abs, fabsf(x), (float)((x > 0.0f) - (x < 0.0f)), abs_grad);

gm_node *gm_exp(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_exp, &x, 1, NULL, 0);
}
gm_node *gm_log(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_log, &x, 1, NULL, 0);
}
gm_node *gm_square(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_square, &x, 1, NULL, 0);
}
gm_node *gm_sqrt(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_sqrt, &x, 1, NULL, 0);
}
gm_node *gm_abs(gm_graph *g, gm_node *x) {
    return gm_node_new(g, &gm_op_abs, &x, 1, NULL, 0);
}
