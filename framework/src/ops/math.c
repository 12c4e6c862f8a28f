/* Element-wise math: exp, log, square, sqrt, abs. */
#include <math.h>

#include "elementwise.h"
#include "gm/ops.h"
#include "op_table.h"

GM_UNARY_OP(exp, expf(x), y);
GM_UNARY_OP(log, logf(x), 1.0f / x);
GM_UNARY_OP(square, x *x, 2.0f * x);
GM_UNARY_OP(sqrt, sqrtf(x), 0.5f / y);
/* The subgradient at 0 is taken as 0. */
GM_UNARY_OP(abs, fabsf(x), (float)((x > 0.0f) - (x < 0.0f)));

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
