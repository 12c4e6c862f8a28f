/* gm/nn.h: modules: Linear layers and MLPs.
 *
 * A module is a small value that records where its parameters sit in a
 * group (view indices). Its forward adds nodes to a graph, so one module
 * can appear in any number of graphs, and with a layout-compatible copy of
 * its group (gm_params_clone) it computes the frozen "previous" network. */
#ifndef GM_NN_H
#define GM_NN_H

#include "gm/graph.h"
#include "gm/params.h"
#include "gm/rng.h"

typedef enum gm_activation {
    GM_ACT_NONE,
    GM_ACT_RELU,
    GM_ACT_LEAKY_RELU, /* slope: activation_param, default 0.2 */
    GM_ACT_ELU,        /* alpha: activation_param, default 1 */
    GM_ACT_TANH,
    GM_ACT_SIGMOID,
    GM_ACT_SOFTPLUS,
    GM_ACT_COUNT
} gm_activation;

/* "relu", "leaky_relu", ... -> false if the name is unknown. */
bool gm_activation_parse(const char *name, gm_activation *out);
const char *gm_activation_name(gm_activation act);

/* act(x); `param` is the slope or alpha where the activation has one
 * (0 takes the default). */
gm_node *gm_activate(gm_graph *g, gm_node *x, gm_activation act, float param);

/* y = x W^T + b with W [out, in] and b [out], as torch.nn.Linear. */
typedef struct gm_linear {
    int in, out;
    int weight, bias; /* view indices in the group */
} gm_linear;

/* Adds "<name>.weight" and "<name>.bias" to group, initialised as PyTorch
 * does: both uniform in +-1/sqrt(in), drawn from `init`. */
gm_status gm_linear_init(gm_linear *l, gm_params *group, const char *name,
                         int in, int out, gm_rng *init, gm_error *err);

/* x [rows, in] -> [rows, out], using the views of `group`. */
gm_node *gm_linear_forward(gm_graph *g, const gm_linear *l, gm_params *group,
                           gm_node *x);

#define GM_MLP_MAX_LAYERS 8

/* {hidden: [..], activation: .., out: ..}: Linear layers of the hidden
 * widths, each followed by the activation, then a Linear to `out` followed
 * by out_activation (usually none). */
typedef struct gm_mlp_spec {
    int hidden[GM_MLP_MAX_LAYERS - 1];
    int n_hidden;
    gm_activation activation;
    float activation_param;
    int out;
    gm_activation out_activation;
} gm_mlp_spec;

typedef struct gm_mlp {
    gm_params *params;
    gm_linear layers[GM_MLP_MAX_LAYERS];
    int n_layers;
    int in, out;
    gm_activation activation, out_activation;
    float activation_param;
} gm_mlp;

/* Adds the layers' parameters to `group` as "<prefix>.0.weight", ... */
gm_status gm_mlp_init(gm_mlp *m, gm_params *group, const char *prefix, int in,
                      const gm_mlp_spec *spec, gm_rng *init, gm_error *err);

/* The MLP applied to x [rows, in] with its own parameters. */
gm_node *gm_mlp_forward(gm_graph *g, const gm_mlp *m, gm_node *x);

/* The same with another group of the same layout (e.g. a frozen copy). */
gm_node *gm_mlp_forward_with(gm_graph *g, const gm_mlp *m, gm_params *params,
                             gm_node *x);

#endif
