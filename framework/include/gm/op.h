/* gm/op.h: defining ops.
 *
 * An op is one descriptor: a name, an arity, a shape rule, a forward and a
 * backward function. The built-in ops are rows of one table; a plugin can
 * define its own op the same way and add it to a graph with gm_custom.
 *
 * forward reads its inputs' data and writes its own data. backward reads
 * its own gradient and ADDS (+=) the gradient of each input whose
 * gm_node_grad is non-NULL; inputs that need no gradient have NULL there.
 * grad (optional) builds the same gradient as nodes, for gm_grad. */
#ifndef GM_OP_H
#define GM_OP_H

#include "gm/api.h"
#include "gm/graph.h"
#include "gm/rng.h"

GM_API_BEGIN

#define GM_MAX_INPUTS 8
#define GM_MAX_OP_PARAMS 4

enum gm_op_flags {
    GM_OP_VIEW = 1u << 0,      /* output shares input 0's data (and gradient) */
    GM_OP_STOP_GRAD = 1u << 1, /* no gradient flows to the inputs */
    /* backward writes (=) instead of adding to the gradient of an input
     * for which gm_node_grad_fresh is true: the graph then need not zero
     * that gradient before each backward. */
    GM_OP_OVERWRITES = 1u << 2,
    /* forward draws from the node's own generator, which is part of a
     * run's state (gm_graph_save_state) */
    GM_OP_RANDOM = 1u << 3,
};

typedef struct gm_op_def {
    const char *name;
    int arity; /* inputs, or -1 for any number from 1 to GM_MAX_INPUTS */
    /* Infers the output shape from the inputs and op parameters; on a
     * mismatch, fills err with a message naming both shapes. */
    gm_status (*shape)(const gm_node *n, gm_shape *out, gm_error *err);
    void (*forward)(gm_node *n);
    void (*backward)(gm_node *n);
    /* Floats of per-node scratch kept from forward to backward (optional). */
    size_t (*scratch)(const gm_node *n);
    unsigned flags;
    /* The gradient as nodes (gm_grad, gm/grad.h): adds to n's graph, with
     * ordinary ops, the gradient with respect to input i of a scalar whose
     * gradient with respect to n is the node `up` (n's shape), and returns
     * it (input i's shape), or NULL with the graph's error set. It may read
     * n, its inputs and `up` as nodes, never their data. NULL: the op has
     * no builder, and a graph cannot differentiate through it twice. */
    gm_node *(*grad)(gm_node *n, int i, gm_node *up);
} gm_op_def;

/* Adds a node computed by `def` from inputs[0..n_inputs), with up to
 * GM_MAX_OP_PARAMS float parameters. */
gm_node *gm_custom(gm_graph *g, const gm_op_def *def, gm_node *const *inputs,
                   int n_inputs, const float *params, int n_params);

/* Adds a node of a GM_OP_RANDOM op (gm_custom refuses one) with its own
 * stream split off `parent` (e.g. ctx->noise), as gm_randn's: its forward
 * draws from gm_node_rng(n), and gm saves and restores the stream with a
 * run's checkpoint, so a resumed run draws what it would have drawn. */
gm_node *gm_custom_random(gm_graph *g, const gm_op_def *def,
                          gm_node *const *inputs, int n_inputs,
                          const float *params, int n_params, gm_rng *parent);

/* A pointer the op's functions can reach (e.g. a dataset); not owned. */
void gm_node_set_user(gm_node *n, void *user);

/* For op implementations. */
int gm_node_input_count(const gm_node *n);
gm_node *gm_node_input(const gm_node *n, int i);
float gm_node_param(const gm_node *n, int i);
float *gm_node_scratch(gm_node *n);
void *gm_node_user(const gm_node *n);
/* The stream of a node added with gm_custom_random (NULL for others). */
gm_rng *gm_node_rng(gm_node *n);
/* For a random op's forward: true if it is to draw now, false while the
 * graph holds its noise (gm_graph_hold_noise) and n has drawn already;
 * forward then keeps its last output. */
bool gm_node_draw_now(gm_node *n);
/* True if this op is the only one that writes n's gradient and that
 * gradient is not zeroed before backward (GM_OP_OVERWRITES ops only). */
bool gm_node_grad_fresh(const gm_node *n);

GM_API_END

#endif
