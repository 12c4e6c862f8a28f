/* Random sources. Each node owns its stream and keeps its last draw in its
 * data, which is what backward through z = mu + sigma * eps reads. */
#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "op_table.h"

static void randn_forward(gm_node *n) {
    if (n->drawn && n->graph->hold_noise) return;
    gm_rng_fill_normal(&n->rng, n->data, n->numel);
    n->drawn = true;
}

static gm_status source_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    (void)err;
    *out = n->shape;
    return GM_OK;
}

const gm_op_def gm_op_randn = {
    .name = "randn",
    .arity = 0,
    .shape = source_shape,
    .forward = randn_forward,
    .flags = GM_OP_RANDOM,
};

gm_node *gm_randn(gm_graph *g, const char *name, const int *shape, int ndim,
                  gm_rng *parent) {
    gm_shape s;
    if (!gm_shape_make(&s, shape, ndim) || !parent)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "randn '%s': bad shape or no parent stream",
                             name ? name : "");
    gm_node *n = gm_node_new_source(g, &gm_op_randn, &s);
    if (!n) return NULL;
    n->rng = gm_rng_split(parent);
    return name ? gm_node_set_name(n, name) : n;
}
