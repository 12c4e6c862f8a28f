/* The layer kinds (nn/layer_kinds.h): one row each at the end of this
 * file, its code above it. Parameters are laid out and initialised as
 * PyTorch's modules; forwards are built from the ops of gm/ops.h. */
#include "nn/layer_kinds.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gm/limits.h"
#include "gm/ops.h"

/* ---- shapes ------------------------------------------------------------ */

long long gm_layer_numel(const int *dim, int ndim) {
    long long n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dim[i];
    return n;
}

const char *gm_layer_dims_str(const int *dim, int ndim, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? ", " : "", dim[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

gm_status gm_layer_plan_fail(const gm_layer_plan *p, const char *fmt, ...) {
    char what[384], in[64];
    const gm_layer *l = p->layer;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return gm_error_set(
        p->err, GM_ERR_SHAPE, "%s.layers[%d] (%s): input %s: %s", p->where,
        p->index, gm_layer_kind_name(l->spec.kind),
        gm_layer_dims_str(l->in_shape, l->in_ndim, in, sizeof in), what);
}

/* ---- parameters -------------------------------------------------------- */

static int add_view(const gm_layer_init *c, gm_params *group, const char *what,
                    const int *shape, int ndim) {
    char key[GM_NAME_MAX + 32];
    snprintf(key, sizeof key, "%s.%d.%s", c->prefix, c->index, what);
    if (strlen(key) >= GM_NAME_MAX) {
        gm_error_set(c->err, GM_ERR_INVALID,
                     "parameter '%s': name longer than %d characters", key,
                     GM_NAME_MAX - 1);
        return -1;
    }
    return gm_params_add(group, key, shape, ndim, c->err);
}

static gm_status failed(const gm_layer_init *c) {
    return c->err ? c->err->status : GM_ERR_INVALID;
}

static void fill(gm_params *group, int view, float value) {
    float *v = gm_params_view_data(group, view);
    for (size_t i = 0; i < gm_params_view(group, view)->numel; i++)
        v[i] = value;
}

/* weight and bias (unless no_bias) uniform in +-1/sqrt(fan_in), as
 * PyTorch's Linear, Conv2d and ConvTranspose2d. */
static gm_status init_weight_and_bias(gm_layer *l, const gm_layer_init *c,
                                      const int *w_shape, int w_ndim,
                                      int fan_in, int out) {
    l->weight = add_view(c, c->group, "weight", w_shape, w_ndim);
    if (l->weight < 0) return failed(c);
    if (!l->spec.no_bias) {
        l->bias = add_view(c, c->group, "bias", (int[]){out}, 1);
        if (l->bias < 0) return failed(c);
    }
    float bound = 1.0f / sqrtf((float)fan_in);
    gm_rng_fill_uniform(c->rng, gm_params_view_data(c->group, l->weight),
                        gm_params_view(c->group, l->weight)->numel, -bound,
                        bound);
    if (l->bias >= 0)
        gm_rng_fill_uniform(c->rng, gm_params_view_data(c->group, l->bias),
                            (size_t)out, -bound, bound);
    return GM_OK;
}

static gm_node *weight(gm_layer_step *s, int view) {
    return gm_net_weight(s->g, s->weights, view);
}

static gm_node *weight_or_null(gm_layer_step *s, int view) {
    return view >= 0 ? weight(s, view) : NULL;
}

/* ---- linear: nn.Linear, [in] -> [out] ---------------------------------- */

static gm_status plan_linear(const gm_layer_plan *p, gm_layer *l) {
    if (l->in_ndim != 1)
        return gm_layer_plan_fail(
            p, "needs flat features; put a flatten before it");
    int out = l->spec.out ? l->spec.out : p->last_out;
    if (out < 1)
        return gm_layer_plan_fail(p, "needs out (only the last linear layer "
                                     "may leave it to the objective)");
    l->out_ndim = 1;
    l->out_shape[0] = out;
    l->params = (long long)out * l->in_shape[0] + (l->spec.no_bias ? 0 : out);
    return GM_OK;
}

static gm_status init_linear(gm_layer *l, const gm_layer_init *c) {
    int out = l->out_shape[0], in = l->in_shape[0];
    return init_weight_and_bias(l, c, (int[]){out, in}, 2, in, out);
}

/* A Linear followed by a ReLU is one affine_relu node. */
static gm_node *forward_linear(gm_layer_step *s, gm_node *x) {
    const gm_layer *l = &s->m->net[s->index];
    gm_node *w = weight(s, l->weight);
    if (l->bias < 0) return gm_matmul(s->g, x, w, false, true);
    gm_node *b = weight(s, l->bias);
    s->fused_next = s->index + 1 < s->m->n_net &&
                    s->m->net[s->index + 1].spec.kind == GM_LAYER_RELU;
    return s->fused_next ? gm_affine_relu(s->g, x, w, b)
                         : gm_affine(s->g, x, w, b);
}

/* ---- conv2d, conv_transpose2d: nn.Conv2d, nn.ConvTranspose2d ----------- */

/* A side of the output: floor((in + 2 pad - k) / stride) + 1, or the
 * transpose's (in - 1) stride - 2 pad + k; < 1 if nothing is left. */
static long long conv2d_side(const gm_layer_spec *s, int in) {
    long long span = (long long)in + 2LL * s->padding - s->kernel;
    return span < 0 ? 0 : span / s->stride + 1;
}

static long long conv_transpose2d_side(const gm_layer_spec *s, int in) {
    return (long long)(in - 1) * s->stride - 2LL * s->padding + s->kernel;
}

static gm_status plan_conv(const gm_layer_plan *p, gm_layer *l,
                           long long (*side)(const gm_layer_spec *, int)) {
    const gm_layer_spec *s = &l->spec;
    if (l->in_ndim != 3)
        return gm_layer_plan_fail(p, "needs an image [channels, height, "
                                     "width]; put a reshape before it");
    if (s->out < 1 || s->kernel < 1 || s->stride < 1 || s->padding < 0)
        return gm_layer_plan_fail(p,
                                  "out %d, kernel %d and stride %d must be "
                                  ">= 1 and padding %d >= 0",
                                  s->out, s->kernel, s->stride, s->padding);
    long long h = side(s, l->in_shape[1]), w = side(s, l->in_shape[2]);
    if (h < 1 || w < 1)
        return gm_layer_plan_fail(p,
                                  "a %dx%d kernel with stride %d and padding "
                                  "%d leaves no output",
                                  s->kernel, s->kernel, s->stride, s->padding);
    if (h > INT_MAX || w > INT_MAX)
        return gm_layer_plan_fail(p, "output too large");
    l->out_ndim = 3;
    l->out_shape[0] = s->out;
    l->out_shape[1] = (int)h;
    l->out_shape[2] = (int)w;
    l->params = (long long)s->out * l->in_shape[0] * s->kernel * s->kernel +
                (s->no_bias ? 0 : s->out);
    return GM_OK;
}

static gm_status plan_conv2d(const gm_layer_plan *p, gm_layer *l) {
    return plan_conv(p, l, conv2d_side);
}

static gm_status plan_conv_transpose2d(const gm_layer_plan *p, gm_layer *l) {
    return plan_conv(p, l, conv_transpose2d_side);
}

/* Weights [out, in, k, k]; the transpose's [in, out, k, k], whose fan_in
 * counts output channels. */
static gm_status init_conv2d(gm_layer *l, const gm_layer_init *c) {
    int in = l->in_shape[0], out = l->spec.out, k = l->spec.kernel;
    return init_weight_and_bias(l, c, (int[]){out, in, k, k}, 4, in * k * k,
                                out);
}

static gm_status init_conv_transpose2d(gm_layer *l, const gm_layer_init *c) {
    int in = l->in_shape[0], out = l->spec.out, k = l->spec.kernel;
    return init_weight_and_bias(l, c, (int[]){in, out, k, k}, 4, out * k * k,
                                out);
}

static gm_node *forward_conv2d(gm_layer_step *s, gm_node *x) {
    const gm_layer *l = &s->m->net[s->index];
    return gm_conv2d(s->g, x, weight(s, l->weight),
                     weight_or_null(s, l->bias), l->spec.stride,
                     l->spec.padding);
}

static gm_node *forward_conv_transpose2d(gm_layer_step *s, gm_node *x) {
    const gm_layer *l = &s->m->net[s->index];
    return gm_conv_transpose2d(s->g, x, weight(s, l->weight),
                               weight_or_null(s, l->bias),
                               l->spec.stride, l->spec.padding);
}

/* ---- batch_norm: nn.BatchNorm1d / BatchNorm2d over the first axis ------ */

static gm_status plan_batch_norm(const gm_layer_plan *p, gm_layer *l) {
    l->params = 2LL * l->in_shape[0];
    return GM_OK;
}

/* weight 1 and bias 0; running mean 0 and variance 1 in the stats group */
static gm_status init_batch_norm(gm_layer *l, const gm_layer_init *c) {
    int ch[1] = {l->in_shape[0]};
    l->weight = add_view(c, c->group, "weight", ch, 1);
    l->bias = l->weight < 0 ? -1 : add_view(c, c->group, "bias", ch, 1);
    l->mean = l->bias < 0 ? -1 : add_view(c, c->stats, "running_mean", ch, 1);
    l->var = l->mean < 0 ? -1 : add_view(c, c->stats, "running_var", ch, 1);
    if (l->var < 0) return failed(c);
    fill(c->group, l->weight, 1.0f);
    fill(c->group, l->bias, 0.0f);
    fill(c->stats, l->mean, 0.0f);
    fill(c->stats, l->var, 1.0f);
    return GM_OK;
}

static gm_node *forward_batch_norm(gm_layer_step *s, gm_node *x) {
    const gm_layer *l = &s->m->net[s->index];
    gm_params *stats = s->m->stats;
    gm_graph_freeze(s->g, stats); /* state, not trained */
    return gm_batch_norm(s->g, x, weight(s, l->weight),
                         weight(s, l->bias),
                         gm_param(s->g, stats, l->mean),
                         gm_param(s->g, stats, l->var), true,
                         l->spec.momentum > 0 ? l->spec.momentum : 0.1f,
                         l->spec.eps > 0 ? l->spec.eps : 1e-5f);
}

/* ---- activations ------------------------------------------------------- */

static gm_node *activate_relu(gm_graph *g, gm_node *x, float param) {
    return gm_relu(g, x);
}

static gm_node *activate_leaky_relu(gm_graph *g, gm_node *x, float slope) {
    return gm_leaky_relu(g, x, slope ? slope : 0.2f);
}

static gm_node *activate_elu(gm_graph *g, gm_node *x, float alpha) {
    return gm_elu(g, x, alpha ? alpha : 1.0f);
}

static gm_node *activate_tanh(gm_graph *g, gm_node *x, float param) {
    return gm_tanh(g, x);
}

static gm_node *activate_sigmoid(gm_graph *g, gm_node *x, float param) {
    return gm_sigmoid(g, x);
}

static gm_node *activate_softplus(gm_graph *g, gm_node *x, float param) {
    return gm_softplus(g, x);
}

/* ---- reshape, flatten: views ------------------------------------------- */

static gm_status plan_reshape(const gm_layer_plan *p, gm_layer *l) {
    const gm_layer_spec *s = &l->spec;
    char to[64];
    long long n = gm_layer_numel(s->shape, s->ndim);
    if (s->ndim != 1 && s->ndim != 3)
        return gm_layer_plan_fail(
            p, "reshape to [features] or [channels, height, width], not %s",
            gm_layer_dims_str(s->shape, s->ndim, to, sizeof to));
    if (n != gm_layer_numel(l->in_shape, l->in_ndim))
        return gm_layer_plan_fail(
            p, "%lld values cannot be viewed as %s (%lld)",
            gm_layer_numel(l->in_shape, l->in_ndim),
            gm_layer_dims_str(s->shape, s->ndim, to, sizeof to), n);
    l->out_ndim = s->ndim;
    memcpy(l->out_shape, s->shape, sizeof l->out_shape);
    return GM_OK;
}

static gm_status plan_flatten(const gm_layer_plan *p, gm_layer *l) {
    long long n = gm_layer_numel(l->in_shape, l->in_ndim);
    if (n > INT_MAX) return gm_layer_plan_fail(p, "too many values to flatten");
    l->out_ndim = 1;
    l->out_shape[0] = (int)n;
    return GM_OK;
}

/* x [rows, ...] viewed as [rows, the layer's output shape] */
static gm_node *forward_view(gm_layer_step *s, gm_node *x) {
    const gm_layer *l = &s->m->net[s->index];
    int dims[4] = {s->rows, l->out_shape[0], l->out_shape[1], l->out_shape[2]};
    return gm_reshape(s->g, x, dims, 1 + l->out_ndim);
}

/* ---- the table --------------------------------------------------------- */

#define KERNEL_MAX 64 /* a kernel's side, a stride or a padding */

/* Arguments: the key `name` sets the gm_layer_spec field of that name;
 * absent, the field is 0 (or the preset), which the forward reads as the
 * default the docs give. */
/* clang-format off */
#define ARG(name, type) #name, type, offsetof(gm_layer_spec, name)
#define INT_ARG(name, min, max) {ARG(name, GM_LAYER_ARG_INT), .lo = (min), .hi = (max)}
#define POSITIVE_ARG(name)                                                     \
    {ARG(name, GM_LAYER_ARG_FLOAT), .lo = 0, .hi = INFINITY, .lo_open = true}
#define BIAS_ARG                                                               \
    {"bias", GM_LAYER_ARG_BIAS, offsetof(gm_layer_spec, no_bias), .required = false}
#define CONV_ARGS {                                                            \
    {ARG(out, GM_LAYER_ARG_INT), .required = true, .lo = 1, .hi = GM_LAYER_DIM_MAX}, \
    {ARG(kernel, GM_LAYER_ARG_INT), .required = true, .lo = 1, .hi = KERNEL_MAX}, \
    {ARG(stride, GM_LAYER_ARG_INT), .lo = 1, .hi = KERNEL_MAX, .preset = 1},  \
    INT_ARG(padding, 0, KERNEL_MAX),                                           \
    BIAS_ARG}

static const gm_layer_kind_desc kinds[] = {
    [GM_LAYER_LINEAR] = {"linear", {INT_ARG(out, 1, GM_LAYER_DIM_MAX), BIAS_ARG},
        .plan = plan_linear, .init = init_linear, .forward = forward_linear},
    [GM_LAYER_CONV2D] = {"conv2d", CONV_ARGS,
        .plan = plan_conv2d, .init = init_conv2d, .forward = forward_conv2d},
    [GM_LAYER_CONV_TRANSPOSE2D] = {"conv_transpose2d", CONV_ARGS,
        .plan = plan_conv_transpose2d, .init = init_conv_transpose2d,
        .forward = forward_conv_transpose2d},
    [GM_LAYER_BATCH_NORM] = {"batch_norm",
        {{ARG(momentum, GM_LAYER_ARG_FLOAT), .lo = 0, .hi = 1, .lo_open = true},
         POSITIVE_ARG(eps)},
        .has_stats = true,
        .plan = plan_batch_norm, .init = init_batch_norm,
        .forward = forward_batch_norm},
    [GM_LAYER_RELU] = {"relu",
        .activation = GM_ACT_RELU, .activate = activate_relu},
    [GM_LAYER_LEAKY_RELU] = {"leaky_relu", {POSITIVE_ARG(slope)},
        .activation = GM_ACT_LEAKY_RELU, .activate = activate_leaky_relu},
    [GM_LAYER_ELU] = {"elu", {POSITIVE_ARG(alpha)},
        .activation = GM_ACT_ELU, .activate = activate_elu},
    [GM_LAYER_TANH] = {"tanh",
        .activation = GM_ACT_TANH, .activate = activate_tanh},
    [GM_LAYER_SIGMOID] = {"sigmoid",
        .activation = GM_ACT_SIGMOID, .activate = activate_sigmoid},
    [GM_LAYER_SOFTPLUS] = {"softplus",
        .activation = GM_ACT_SOFTPLUS, .activate = activate_softplus},
    [GM_LAYER_RESHAPE] = {"reshape", .takes_shape = true,
        .plan = plan_reshape, .forward = forward_view},
    [GM_LAYER_FLATTEN] = {"flatten",
        .plan = plan_flatten, .forward = forward_view},
};
/* clang-format on */
_Static_assert(sizeof kinds / sizeof kinds[0] == GM_LAYER_KIND_COUNT,
               "one row per layer kind");

const gm_layer_kind_desc *gm_layer_kind_desc_of(gm_layer_kind kind) {
    return (unsigned)kind < GM_LAYER_KIND_COUNT ? &kinds[kind] : NULL;
}

bool gm_layer_kind_parse(const char *name, gm_layer_kind *out) {
    for (int i = 0; i < GM_LAYER_KIND_COUNT; i++) {
        if (name && strcmp(name, kinds[i].name) == 0) {
            *out = (gm_layer_kind)i;
            return true;
        }
    }
    return false;
}

const char *gm_layer_kind_name(gm_layer_kind kind) {
    return (unsigned)kind < GM_LAYER_KIND_COUNT ? kinds[kind].name : "?";
}

const char *gm_layer_kind_key(gm_layer_kind kind, int i) {
    if ((unsigned)kind >= GM_LAYER_KIND_COUNT || i < 0 ||
        i >= GM_LAYER_ARGS_MAX)
        return NULL;
    return kinds[kind].args[i].key;
}

/* ---- activations, for layer lists and MLPs alike ----------------------- */

/* The layer kind an activation is: every activation but none is one. */
static const gm_layer_kind_desc *activation_kind(gm_activation act) {
    for (int i = 0; act != GM_ACT_NONE && i < GM_LAYER_KIND_COUNT; i++)
        if (kinds[i].activation == act) return &kinds[i];
    return NULL;
}

bool gm_activation_parse(const char *name, gm_activation *out) {
    for (int a = 0; name && a < GM_ACT_COUNT; a++) {
        if (strcmp(name, gm_activation_name((gm_activation)a)) == 0) {
            *out = (gm_activation)a;
            return true;
        }
    }
    return false;
}

const char *gm_activation_name(gm_activation act) {
    if (act == GM_ACT_NONE) return "none";
    const gm_layer_kind_desc *k = activation_kind(act);
    return k ? k->name : "?";
}

gm_node *gm_activate(gm_graph *g, gm_node *x, gm_activation act, float param) {
    if (act == GM_ACT_NONE) return x;
    const gm_layer_kind_desc *k = activation_kind(act);
    return k ? k->activate(g, x, param) : NULL;
}
