/* nn/layer_kinds.h: the kinds of layer a network's layer list is made of,
 * one row each in one table (nn/layer_kinds.c): the name and the YAML
 * arguments the configuration reads (config/config_layers.c), and the
 * shape rule, parameters and forward the network builder runs
 * (nn/layer_list.c). Neither reader knows a kind by name. Every activation of
 * gm/nn.h is a layer kind: an MLP's `activation` is read from this table
 * too. */
#ifndef GM_NN_LAYER_KINDS_H
#define GM_NN_LAYER_KINDS_H

#include <stddef.h>

#include "gm/nn.h"
#include "nn/nn_internal.h"

/* One YAML argument of a layer, as `kernel` in {conv2d: {kernel: 4}}, and
 * the field of gm_layer_spec it sets. */
typedef enum gm_layer_arg_type {
    GM_LAYER_ARG_INT,   /* an int field */
    GM_LAYER_ARG_FLOAT, /* a float field */
    GM_LAYER_ARG_BIAS,  /* bias: true | false, kept as no_bias */
} gm_layer_arg_type;

typedef struct gm_layer_arg {
    const char *key;
    gm_layer_arg_type type;
    size_t field; /* offsetof(gm_layer_spec, ...) */
    bool required;
    double lo, hi; /* a number's range; lo excluded if lo_open */
    bool lo_open;
    double preset; /* a number's value when the key is absent */
} gm_layer_arg;

#define GM_LAYER_ARGS_MAX 5

/* The largest width, channel count or image side a layer is given. */
#define GM_LAYER_DIM_MAX (1 << 24)

/* A layer being planned: its in_shape set, its out_shape preset to
 * in_shape and its parameter count to 0. */
typedef struct gm_layer_plan {
    const char *where; /* the network, for messages */
    int index;         /* of the layer in the list */
    gm_layer *layer;
    int last_out; /* the width the network must give if the layer is its
                     last (0: any), else 0 */
    gm_error *err;
} gm_layer_plan;

/* Fails a plan with "<where>.layers[<index>] (<kind>): input [..]: <what>"
 * (GM_ERR_SHAPE). */
gm_status gm_layer_plan_fail(const gm_layer_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Where a planned layer's parameters go: "<prefix>.<index>.weight", ...,
 * drawn from rng; batch norm's running statistics go to stats. */
typedef struct gm_layer_init {
    gm_params *group, *stats;
    const char *prefix;
    int index;
    gm_rng *rng;
    gm_error *err;
} gm_layer_init;

/* One layer's forward in the network m, on a batch of `rows`. */
typedef struct gm_layer_step {
    gm_graph *g;
    const gm_net *m;
    const gm_net_weights *weights; /* where its weights are read from */
    int index;
    int rows;
    bool fused_next; /* set by a layer whose node computed the next layer
                        too (a Linear then a ReLU: one affine_relu) */
} gm_layer_step;

typedef struct gm_layer_kind_desc {
    const char *name;                     /* in YAML and messages */
    gm_layer_arg args[GM_LAYER_ARGS_MAX]; /* up to the first without key */
    bool takes_shape; /* {reshape: [C, H, W]}: its value is a shape, kept
                         in shape and ndim, not a mapping of arguments */
    bool has_stats;   /* keeps running statistics (gm_net_has_stats) */
    /* Its output shape and parameter count (NULL: the input's shape and
     * none). */
    gm_status (*plan)(const gm_layer_plan *p, gm_layer *l);
    /* Adds and initialises its parameters (NULL: it has none). */
    gm_status (*init)(gm_layer *l, const gm_layer_init *c);
    /* Its nodes, x [rows, input shape] -> [rows, output shape]; NULL for
     * an activation, whose forward is `activate`. */
    gm_node *(*forward)(gm_layer_step *s, gm_node *x);
    /* An activation: the gm_activation it is, and act(x) with its
     * parameter (slope, alpha; 0 takes the default). */
    gm_activation activation; /* GM_ACT_NONE for other kinds */
    gm_node *(*activate)(gm_graph *g, gm_node *x, float param);
} gm_layer_kind_desc;

/* The row of a kind, or NULL for a value outside the enum. */
const gm_layer_kind_desc *gm_layer_kind_desc_of(gm_layer_kind kind);

/* The number of values of a shape, and "[2, 3]" for messages. */
long long gm_layer_numel(const int *dim, int ndim);
const char *gm_layer_dims_str(const int *dim, int ndim, char *buf, size_t n);

#endif
