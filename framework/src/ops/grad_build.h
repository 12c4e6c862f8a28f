/* Helpers for the ops' gradient builders (gm_op_def.grad, gm/grad.h): the
 * shape bookkeeping that a gradient built from ops needs, written once. */
#ifndef GM_OPS_GRAD_BUILD_H
#define GM_OPS_GRAD_BUILD_H

#include "engine/graph_internal.h"

/* x viewed with shape s (a reshape when the shapes differ, x itself
 * otherwise); NULL for NULL. */
gm_node *gm_grad_as_shape(gm_node *x, const gm_shape *s);

/* "'name'" or "#id": how gm_grad's errors name node n. */
void gm_grad_node_label(const gm_node *n, char *buf, size_t size);

/* For a builder whose op has no gradient as nodes with respect to one of
 * its inputs (`what`, e.g. "its weights"): records in n's graph the error
 * naming the op, the node and the input, and returns NULL. */
gm_node *gm_grad_not_built(gm_node *n, const char *what);

/* A zero constant of shape s in g. */
gm_node *gm_grad_zeros(gm_graph *g, const gm_shape *s);

/* The adjoint `adj` of an element-wise output reduced to the shape of
 * `operand`, which broadcast onto it: summed over the repeated rows,
 * columns or all elements, then viewed with operand's shape. */
gm_node *gm_grad_reduce_to(gm_node *adj, const gm_node *operand);

/* The adjoint `adj` of a reduction of x ([1], [rows, 1] or [1, cols])
 * repeated back onto x's shape. */
gm_node *gm_grad_expand(gm_node *adj, const gm_node *x);

/* build(n, up) built once for each pair (n, up): a builder asked for
 * several inputs of n (affine_relu's x, weight and bias) reuses the nodes
 * they share instead of adding them again. */
gm_node *gm_grad_once(gm_node *n, gm_node *up,
                      gm_node *(*build)(gm_node *n, gm_node *up));

/* An op only the builders make (activation.c): a where x > 0, slope * a
 * elsewhere, for a and x of one shape: the adjoint a times relu's
 * (slope 0) or leaky_relu's derivative at x. Only a gets a gradient: x
 * is read through a detach. */
gm_node *gm_relu_mask(gm_graph *g, gm_node *a, gm_node *x, float slope);

#endif
