/* gm/nn.h: modules: Linear layers and networks, either MLPs or lists of
 * layers (convolutions, batch norm, activations, reshapes).
 *
 * A module is a small value that records where its parameters sit in a
 * group (view indices). Its forward adds nodes to a graph, so one module
 * can appear in any number of graphs, and with a layout-compatible copy of
 * its group (gm_params_clone) it computes the frozen "previous" network. */
#ifndef GM_NN_H
#define GM_NN_H

#include "gm/api.h"
#include "gm/graph.h"
#include "gm/params.h"
#include "gm/rng.h"

GM_API_BEGIN

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

/* "relu", "leaky_relu", ... -> false if the name is unknown. Every
 * activation but none is also a layer kind of that name. */
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
#define GM_NET_MAX_LAYERS 32

/* One layer of a layer list, as its PyTorch module. Shapes are per sample:
 * [features] or [channels, height, width]. */
typedef enum gm_layer_kind {
    GM_LAYER_LINEAR,           /* nn.Linear: [in] -> [out] */
    GM_LAYER_CONV2D,           /* nn.Conv2d: [C, H, W] -> [out, H', W'] */
    GM_LAYER_CONV_TRANSPOSE2D, /* nn.ConvTranspose2d */
    GM_LAYER_BATCH_NORM,       /* nn.BatchNorm1d / BatchNorm2d */
    GM_LAYER_RELU,             /* the activations, as gm_activation */
    GM_LAYER_LEAKY_RELU,
    GM_LAYER_ELU,
    GM_LAYER_TANH,
    GM_LAYER_SIGMOID,
    GM_LAYER_SOFTPLUS,
    GM_LAYER_RESHAPE, /* to `shape` (same size) */
    GM_LAYER_FLATTEN, /* to [C * H * W] */
    GM_LAYER_KIND_COUNT
} gm_layer_kind;

/* "conv2d", ... -> false if the name is unknown. */
bool gm_layer_kind_parse(const char *name, gm_layer_kind *out);
const char *gm_layer_kind_name(gm_layer_kind kind);

/* The YAML keys of a kind's arguments ("out", "kernel", ...): the i-th,
 * or NULL past the last. */
const char *gm_layer_kind_key(gm_layer_kind kind, int i);

typedef struct gm_layer_spec {
    gm_layer_kind kind;
    /* linear: output features (0 in the last layer: the width the
     * objective asks of the network); convolutions: output channels */
    int out;
    int kernel, stride, padding; /* convolutions (square kernels) */
    bool no_bias;                /* linear and convolutions */
    union { /* an activation's parameter (0 takes the default) */
        float activation_param;
        float slope; /* leaky_relu: 0.2 */
        float alpha; /* elu: 1 */
    };
    float momentum, eps; /* batch_norm (0 takes 0.1 and 1e-5) */
    int shape[3], ndim;  /* reshape */
} gm_layer_spec;

/* A network: either an MLP, {hidden: [..], activation: .., out: ..}:
 * Linear layers of the hidden widths, each followed by the activation,
 * then a Linear to `out` followed by out_activation (usually none); or,
 * when n_layers > 0, the list of layers, whose input is flat [rows, in]
 * (reshape it into images), whose output is flattened to [rows, out]. */
typedef struct gm_net_spec {
    int hidden[GM_MLP_MAX_LAYERS - 1];
    int n_hidden;
    gm_activation activation;
    float activation_param;
    int out;
    gm_activation out_activation;
    gm_layer_spec layers[GM_NET_MAX_LAYERS];
    int n_layers;
} gm_net_spec;

/* A layer as built: its per-sample shapes and its views (-1 for none):
 * weight and bias in the network's group, the running mean and variance
 * of batch norm in its statistics group. */
typedef struct gm_layer {
    gm_layer_spec spec;
    int in_shape[3], in_ndim;
    int out_shape[3], out_ndim;
    long long params; /* trained floats */
    int weight, bias, mean, var;
} gm_layer;

/* Walks the layers of spec (n_layers > 0) from a flat input of `in`
 * features, fills each layer's shapes and parameter count (views left
 * -1) and checks that every layer fits its input and that the output has
 * `out` features (out 0: any). On a mismatch, fills err with a message
 * naming the layer ("layers[2] (conv2d): input [64, 7, 7] ..."), prefixed
 * with `where`, and returns the failing layer's index in *bad. */
gm_status gm_net_plan(const gm_net_spec *spec, int in, int out,
                      const char *where, gm_layer *layers, int *bad,
                      gm_error *err);

/* True if the network has batch norm layers, whose running statistics
 * need a group of their own (gm_net_init). */
bool gm_net_has_stats(const gm_net_spec *spec);

typedef struct gm_net {
    gm_params *params;
    gm_linear layers[GM_MLP_MAX_LAYERS];
    int n_layers;
    int in, out;
    gm_activation activation, out_activation;
    float activation_param;
    /* a layer list (n_net > 0) */
    gm_layer net[GM_NET_MAX_LAYERS];
    int n_net;
    gm_params *stats; /* batch norm's running statistics, or NULL */
} gm_net;

/* Adds a network's parameters to `group`, for either kind of network: an
 * MLP's Linear layers as "<prefix>.0.weight", "<prefix>.0.bias", ...; a
 * layer list's named by the layer's position, as in torch.nn.Sequential:
 * "<prefix>.3.weight";
 * convolutions and Linear layers are initialised as PyTorch does, batch
 * norm with weight 1 and bias 0. Batch norm's running statistics
 * ("<prefix>.<i>.running_mean", "running_var", starting at 0 and 1) go to
 * `stats`, a group no optimizer steps (NULL if gm_net_has_stats is
 * false). */
gm_status gm_net_init(gm_net *m, gm_params *group, gm_params *stats,
                      const char *prefix, int in, const gm_net_spec *spec,
                      gm_rng *init, gm_error *err);

/* The network applied to x [rows, in] with its own parameters: [rows,
 * out]. Batch norm layers use the batch's statistics while the graph is
 * in training mode and the running statistics otherwise
 * (gm_graph_set_training). */
gm_node *gm_net_forward(gm_graph *g, const gm_net *m, gm_node *x);

/* The same with another group of the same layout (e.g. a frozen copy). */
gm_node *gm_net_forward_with(gm_graph *g, const gm_net *m, gm_params *params,
                             gm_node *x);

/* The same with its weights given as nodes of g: weights[v] stands for
 * view v of m->params, for every view the network reads (an array of
 * gm_params_count(m->params) nodes, each of its view's shape; entries
 * for views of the group that the network does not read are not read),
 * e.g. weights a few differentiable SGD steps from the
 * group's, built with gm_grad (gm/grad.h) as in the unrolled GAN.
 * Gradients flow into the weight nodes, not into the group. Batch norm
 * reads its running statistics from m->stats as gm_net_forward does. A
 * missing or misshapen weight is an error recorded in g, naming the
 * view. For gm_grad, the weights of a convolution have no gradient as
 * nodes and batch_norm no gradient builder: differentiating by such
 * weights fails naming the op (gm/grad.h). */
gm_node *gm_net_forward_nodes(gm_graph *g, const gm_net *m,
                              gm_node *const *weights, gm_node *x);

GM_API_END

#endif
