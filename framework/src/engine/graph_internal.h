/* The graph's insides, shared by graph.c and the op families. */
#ifndef GM_GRAPH_INTERNAL_H
#define GM_GRAPH_INTERNAL_H

#include "gm/op.h"
#include "gm/rng.h"

struct gm_node {
    gm_graph *graph;
    int id; /* position in creation order, which is topological */
    char name[GM_NAME_MAX];
    gm_role role;
    const gm_op_def *def; /* NULL for inputs, params and constants */
    gm_shape shape;
    size_t numel;
    gm_node *in[GM_MAX_INPUTS];
    int n_in;
    float p[GM_MAX_OP_PARAMS]; /* op parameters */

    bool needs_grad; /* decided at compile */
    bool grad_fresh; /* its one consumer overwrites its gradient */
    float *data;
    float *grad;
    float *scratch;
    size_t n_scratch;

    gm_params *group; /* parameter nodes: the group and view */
    int param_index;
    float *owned; /* constants: data copied at build time */
    void *user;   /* custom ops: their context */
    gm_rng rng;   /* random nodes: their own stream */
    bool drawn;   /* random nodes: a draw exists to hold */
    bool keep;    /* gm_node_keep: read after a forward-only graph's forward */
    /* gm_grad's builders: what gm_grad_once built for this node and the
     * adjoint once_for (ops/grad_build.h) */
    gm_node *once, *once_for;
    /* bfloat16 graphs: the plans of its products (ops/products.h) */
    struct gm_bf16_gemm **gemms;
    int n_gemms;
};

struct gm_graph {
    char name[GM_NAME_MAX];
    gm_node **nodes;
    int n_nodes, cap_nodes;
    gm_error error;
    bool compiled;
    bool hold_noise;
    bool evaluating; /* gm_graph_set_training(g, false) */
    bool forward_only; /* gm_graph_set_forward_only */
    const gm_params *frozen[8];
    int n_frozen;

    float *arena;
    size_t arena_floats;
    float *grad_base; /* the graph's own gradients: one contiguous block */
    size_t grad_floats;
    unsigned char *mark; /* backward reachability, one byte per node */
    gm_precision precision;  /* of the products (ops/products.h) */
    struct gm_onednn *onednn; /* bfloat16 graphs: oneDNN's engine */
    gm_op_hook_fn op_hook; /* gm_graph_set_op_hook, or NULL */
    void *op_hook_ctx;
};

/* The node has a value buffer of its own in the arena (parameters live
 * in their group, constants in the node, views in their input's). */
static inline bool gm_node_owns_values(const gm_node *n) {
    return n->role != GM_ROLE_PARAM && n->role != GM_ROLE_CONST &&
           !(n->def && (n->def->flags & GM_OP_VIEW));
}

/* A forward-only graph's value buffers (engine/value_plan.c): offset[i]
 * floats into the values part of the arena for each node i that owns
 * values, buffers of `rounded(numel)` floats, `*total` floats in all.
 * GM_ERR_NOMEM if its working memory cannot be had. */
gm_status gm_value_plan(const gm_graph *g, size_t *offset, size_t *total,
                        size_t (*rounded)(size_t));

/* Adds a node for a built-in or custom op: checks arity, runs the shape
 * rule, records errors in g. */
gm_node *gm_node_new(gm_graph *g, const gm_op_def *def, gm_node *const *inputs,
                     int n_inputs, const float *params, int n_params);

/* Records the graph's first error (later ones are its consequences) and
 * returns NULL, for builders to `return gm_graph_fail(...)`. */
gm_node *gm_graph_fail(gm_graph *g, gm_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a node with no inputs (a source such as a noise generator) whose
 * shape is given rather than inferred. */
gm_node *gm_node_new_source(gm_graph *g, const gm_op_def *def,
                            const gm_shape *shape);

/* Element-wise broadcast of an operand `b` against output shape `out`. */
typedef enum gm_bcast {
    GM_BCAST_FULL,
    GM_BCAST_ROW,
    GM_BCAST_COL,
    GM_BCAST_SCALAR,
    GM_BCAST_NONE /* does not broadcast */
} gm_bcast;

gm_bcast gm_bcast_kind(const gm_shape *operand, const gm_shape *out);

/* Index into an operand broadcast as `kind` for output element (r, c). */
static inline size_t gm_bcast_index(gm_bcast kind, size_t i, size_t r,
                                    size_t c) {
    switch (kind) {
    case GM_BCAST_FULL: return i;
    case GM_BCAST_ROW: return c;
    case GM_BCAST_COL: return r;
    default: return 0;
    }
}

/* Shape rule for element-wise ops of one input: the output has its shape. */
gm_status gm_shape_same_as_input(const gm_node *n, gm_shape *out,
                                 gm_error *err);

/* Shape rule for ops whose inputs broadcast against each other: equal
 * shapes or a one-element operand, and a row [cols] / [1, cols] or a
 * column [rows, 1] repeated only when the node's parameter 0 is 1 (asked
 * for with the *_bcast constructors). */
gm_status gm_shape_broadcast(const gm_node *n, gm_shape *out, gm_error *err);

/* A node as messages name it: its name in quotes, or its op and position
 * ("the mean node #12") when it has none. */
const char *gm_node_label(const gm_node *n, char *buf, size_t cap);

#endif
