/* gm/grad.h: gradients as nodes of the graph.
 *
 * gm_graph_backward fills gradient buffers with hand-written kernels; a
 * loss cannot contain them. gm_grad instead adds to the graph the nodes
 * that compute a gradient, built from ordinary ops by each op's gradient
 * builder (gm_op_def.grad), so that a loss can contain a gradient (a
 * gradient penalty: WGAN-GP, R1) and the ordinary backward, or gm_grad
 * again, differentiates it. */
#ifndef GM_GRAD_H
#define GM_GRAD_H

#include "gm/api.h"
#include "gm/graph.h"

GM_API_BEGIN

/* Adds to g, before compile, the nodes out[i] = d y / d xs[i] for a [1]
 * node y and nodes xs[0..n) of g (inputs, gm_param nodes or op results),
 * each of its x's shape: the total derivative, through every path from x
 * to y. Ops with GM_OP_STOP_GRAD (gm_detach) pass no gradient; an x that
 * y does not depend on gets a zero constant. Frozen groups
 * (gm_graph_freeze) do not matter here: only the graph's shape does.
 *
 * Every op on a path from an x to y must have a gradient builder;
 * otherwise the error names the op and the node. A builder may not build
 * every input's gradient (conv2d's and conv_transpose2d's weights: an
 * x that is a convolution's weight, or that one depends on); the error
 * then names the op, the node and the input. Errors are also
 * recorded in g, as a failing build call's are. Allocates (it builds);
 * forward and backward of the compiled graph do not. */
gm_status gm_grad(gm_graph *g, gm_node *y, gm_node *const *xs, int n,
                  gm_node **out, gm_error *err);

GM_API_END

#endif
