/* Random sources. Each node owns its stream and keeps its last draw in its
 * data, which is what backward through z = mu + sigma * eps (or a WGAN-GP
 * interpolation x_fake + eps * (x_real - x_fake)) reads. */
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "op_table.h"

static void randn_forward(gm_node *n) {
    if (gm_node_draw_now(n)) gm_rng_fill_normal(&n->rng, n->data, n->numel);
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
    if (gm_node_draw_now(n))
        gm_rng_fill_uniform(&n->rng, n->data, n->numel, 0.0f, 1.0f);
}

const gm_op_def gm_op_rand_uniform = {
    .name = "rand_uniform",
    .arity = 0,
    .shape = source_shape,
    .forward = rand_uniform_forward,
    .flags = GM_OP_RANDOM,
};

/* One class per row, uniform over the columns, as a one-hot row. */
static void rand_categorical_forward(gm_node *n) {
    if (!gm_node_draw_now(n)) return;
    int classes = n->shape.dim[n->shape.ndim - 1];
    size_t rows = n->numel / (size_t)classes;
    memset(n->data, 0, n->numel * sizeof *n->data);
    for (size_t i = 0; i < rows; i++)
        n->data[i * classes + gm_rng_below(&n->rng, (uint64_t)classes)] = 1.0f;
}

const gm_op_def gm_op_rand_categorical = {
    .name = "rand_categorical",
    .arity = 0,
    .shape = source_shape,
    .forward = rand_categorical_forward,
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

gm_node *gm_rand_categorical(gm_graph *g, const char *name, int rows,
                             int classes, gm_rng *parent) {
    if (rows < 1 || classes < 1)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "rand_categorical '%s': needs rows >= 1 and "
                             "classes >= 1, got %d and %d",
                             name ? name : "", rows, classes);
    return random_source(g, &gm_op_rand_categorical, name,
                         (int[]){rows, classes}, 2, parent);
}
