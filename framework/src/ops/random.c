/* Random sources. Each node owns its stream and keeps its last draw in its
 * data, which is what backward through z = mu + sigma * eps (or a WGAN-GP
 * interpolation x_fake + eps * (x_real - x_fake)) reads. */
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

static void rand_uniform_forward(gm_node *n) {
    if (n->drawn && n->graph->hold_noise) return;
    gm_rng_fill_uniform(&n->rng, n->data, n->numel, 0.0f, 1.0f);
    n->drawn = true;
}

const gm_op_def gm_op_rand_uniform = {
    .name = "rand_uniform",
    .arity = 0,
    .shape = source_shape,
    .forward = rand_uniform_forward,
    .flags = GM_OP_RANDOM,
};

/* A source node of `def` with its own stream split off `parent`. */
static gm_node *random_source(gm_graph *g, const gm_op_def *def,
                              const char *name, const int *shape, int ndim,
                              gm_rng *parent) {
    gm_shape s;
    if (!gm_shape_make(&s, shape, ndim) || !parent)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "%s '%s': bad shape or no parent stream",
                             def->name, name ? name : "");
    gm_node *n = gm_node_new_source(g, def, &s);
    if (!n) return NULL;
    n->rng = gm_rng_split(parent);
    return name ? gm_node_set_name(n, name) : n;
}

gm_node *gm_randn(gm_graph *g, const char *name, const int *shape, int ndim,
                  gm_rng *parent) {
    return random_source(g, &gm_op_randn, name, shape, ndim, parent);
}

gm_node *gm_rand_uniform(gm_graph *g, const char *name, const int *shape,
                         int ndim, gm_rng *parent) {
    return random_source(g, &gm_op_rand_uniform, name, shape, ndim, parent);
}
