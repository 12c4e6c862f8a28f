/* Networks as lists of layers: their shapes checked layer by layer, their
 * parameters laid out and initialised as PyTorch's modules, and their
 * forward built from the ops of gm/ops.h. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gm/limits.h"
#include "gm/nn.h"
#include "gm/ops.h"
#include "nn_internal.h"

static const char *const kind_names[] = {
    [GM_LAYER_LINEAR] = "linear",
    [GM_LAYER_CONV2D] = "conv2d",
    [GM_LAYER_CONV_TRANSPOSE2D] = "conv_transpose2d",
    [GM_LAYER_BATCH_NORM] = "batch_norm",
    [GM_LAYER_RELU] = "relu",
    [GM_LAYER_LEAKY_RELU] = "leaky_relu",
    [GM_LAYER_TANH] = "tanh",
    [GM_LAYER_SIGMOID] = "sigmoid",
    [GM_LAYER_RESHAPE] = "reshape",
    [GM_LAYER_FLATTEN] = "flatten",
};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == GM_LAYER_KIND_COUNT,
               "one name per layer kind");

bool gm_layer_kind_parse(const char *name, gm_layer_kind *out) {
    for (int i = 0; i < GM_LAYER_KIND_COUNT; i++) {
        if (name && strcmp(name, kind_names[i]) == 0) {
            *out = (gm_layer_kind)i;
            return true;
        }
    }
    return false;
}

const char *gm_layer_kind_name(gm_layer_kind kind) {
    return (unsigned)kind < GM_LAYER_KIND_COUNT ? kind_names[kind] : "?";
}

bool gm_net_has_stats(const gm_mlp_spec *spec) {
    for (int i = 0; i < spec->n_layers; i++)
        if (spec->layers[i].kind == GM_LAYER_BATCH_NORM) return true;
    return false;
}

/* ---- shapes ------------------------------------------------------------ */

static const char *dims_str(const int *dim, int ndim, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? ", " : "", dim[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

static long long numel_of(const int *dim, int ndim) {
    long long n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dim[i];
    return n;
}

/* The layer being planned, for messages. */
typedef struct plan_ctx {
    const char *where;
    int index;
    const gm_layer *layer;
    gm_error *err;
} plan_ctx;

static gm_status plan_fail(const plan_ctx *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static gm_status plan_fail(const plan_ctx *p, const char *fmt, ...) {
    char what[384], in[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return gm_error_set(
        p->err, GM_ERR_SHAPE, "%s.layers[%d] (%s): input %s: %s", p->where,
        p->index, gm_layer_kind_name(p->layer->spec.kind),
        dims_str(p->layer->in_shape, p->layer->in_ndim, in, sizeof in), what);
}

/* out = floor((in + 2 pad - k) / stride) + 1, or the transpose's
 * (in - 1) stride - 2 pad + k; < 1 if nothing is left. */
static long long conv_side(const gm_layer_spec *s, int in) {
    if (s->kind == GM_LAYER_CONV2D) {
        long long span = (long long)in + 2LL * s->padding - s->kernel;
        return span < 0 ? 0 : span / s->stride + 1;
    }
    return (long long)(in - 1) * s->stride - 2LL * s->padding + s->kernel;
}

static gm_status plan_conv(const plan_ctx *p, gm_layer *l) {
    const gm_layer_spec *s = &l->spec;
    if (l->in_ndim != 3)
        return plan_fail(p, "needs an image [channels, height, width]; put "
                            "a reshape before it");
    if (s->out < 1 || s->kernel < 1 || s->stride < 1 || s->padding < 0)
        return plan_fail(p,
                         "out %d, kernel %d and stride %d must be >= 1 "
                         "and padding %d >= 0",
                         s->out, s->kernel, s->stride, s->padding);
    long long h = conv_side(s, l->in_shape[1]),
              w = conv_side(s, l->in_shape[2]);
    if (h < 1 || w < 1)
        return plan_fail(p,
                         "a %dx%d kernel with stride %d and padding %d "
                         "leaves no output",
                         s->kernel, s->kernel, s->stride, s->padding);
    if (h > INT_MAX || w > INT_MAX) return plan_fail(p, "output too large");
    l->out_ndim = 3;
    l->out_shape[0] = s->out;
    l->out_shape[1] = (int)h;
    l->out_shape[2] = (int)w;
    l->params = (long long)s->out * l->in_shape[0] * s->kernel * s->kernel +
                (s->no_bias ? 0 : s->out);
    return GM_OK;
}

static gm_status plan_linear(const plan_ctx *p, gm_layer *l, int last_out) {
    if (l->in_ndim != 1)
        return plan_fail(p, "needs flat features; put a flatten before it");
    int out = l->spec.out ? l->spec.out : last_out;
    if (out < 1)
        return plan_fail(p, "needs out (only the last linear layer may "
                            "leave it to the objective)");
    l->out_ndim = 1;
    l->out_shape[0] = out;
    l->params = (long long)out * l->in_shape[0] + (l->spec.no_bias ? 0 : out);
    return GM_OK;
}

static gm_status plan_reshape(const plan_ctx *p, gm_layer *l) {
    const gm_layer_spec *s = &l->spec;
    char to[64];
    long long n = numel_of(s->shape, s->ndim);
    if (s->ndim != 1 && s->ndim != 3)
        return plan_fail(p,
                         "reshape to [features] or [channels, height, "
                         "width], not %s",
                         dims_str(s->shape, s->ndim, to, sizeof to));
    if (n != numel_of(l->in_shape, l->in_ndim))
        return plan_fail(p, "%lld values cannot be viewed as %s (%lld)",
                         numel_of(l->in_shape, l->in_ndim),
                         dims_str(s->shape, s->ndim, to, sizeof to), n);
    l->out_ndim = s->ndim;
    memcpy(l->out_shape, s->shape, sizeof l->out_shape);
    return GM_OK;
}

static gm_status plan_layer(const plan_ctx *p, gm_layer *l, int last_out) {
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->out_shape);
    l->params = 0;
    switch (l->spec.kind) {
    case GM_LAYER_LINEAR: return plan_linear(p, l, last_out);
    case GM_LAYER_CONV2D:
    case GM_LAYER_CONV_TRANSPOSE2D: return plan_conv(p, l);
    case GM_LAYER_BATCH_NORM: l->params = 2LL * l->in_shape[0]; return GM_OK;
    case GM_LAYER_RESHAPE: return plan_reshape(p, l);
    case GM_LAYER_FLATTEN: {
        long long n = numel_of(l->in_shape, l->in_ndim);
        if (n > INT_MAX) return plan_fail(p, "too many values to flatten");
        l->out_ndim = 1;
        l->out_shape[0] = (int)n;
        return GM_OK;
    }
    case GM_LAYER_RELU:
    case GM_LAYER_LEAKY_RELU:
    case GM_LAYER_TANH:
    case GM_LAYER_SIGMOID: return GM_OK;
    default: return plan_fail(p, "unknown layer kind %d", (int)l->spec.kind);
    }
}

gm_status gm_net_plan(const gm_mlp_spec *spec, int in, int out,
                      const char *where, gm_layer *layers, int *bad,
                      gm_error *err) {
    *bad = -1;
    if (spec->n_layers < 1 || spec->n_layers > GM_NET_MAX_LAYERS)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s.layers: 1 to %d layers, got %d", where,
                            GM_NET_MAX_LAYERS, spec->n_layers);
    int shape[3] = {in, 0, 0}, ndim = 1;
    for (int i = 0; i < spec->n_layers; i++) {
        gm_layer *l = &layers[i];
        memset(l, 0, sizeof *l);
        l->spec = spec->layers[i];
        l->weight = l->bias = l->mean = l->var = -1;
        l->in_ndim = ndim;
        memcpy(l->in_shape, shape, sizeof shape);
        plan_ctx p = {where, i, l, err};
        gm_status st = plan_layer(&p, l, i == spec->n_layers - 1 ? out : 0);
        if (st == GM_OK && numel_of(l->out_shape, l->out_ndim) > INT_MAX)
            st = plan_fail(&p, "output too large");
        if (st != GM_OK) {
            *bad = i;
            return st;
        }
        ndim = l->out_ndim;
        memcpy(shape, l->out_shape, sizeof shape);
    }
    long long features = numel_of(shape, ndim);
    char s[64];
    if (out > 0 && features != out) {
        *bad = spec->n_layers - 1;
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s.layers[%d] (%s): output %s has %lld "
                            "features, but the network must give %d",
                            where, spec->n_layers - 1,
                            gm_layer_kind_name(spec->layers[*bad].kind),
                            dims_str(shape, ndim, s, sizeof s), features, out);
    }
    return GM_OK;
}

/* ---- parameters -------------------------------------------------------- */

static int add_view(gm_params *group, const char *prefix, int i,
                    const char *what, const int *shape, int ndim,
                    gm_error *err) {
    char key[GM_NAME_MAX + 32];
    snprintf(key, sizeof key, "%s.%d.%s", prefix, i, what);
    if (strlen(key) >= GM_NAME_MAX) {
        gm_error_set(err, GM_ERR_INVALID,
                     "parameter '%s': name longer than "
                     "%d characters",
                     key, GM_NAME_MAX - 1);
        return -1;
    }
    return gm_params_add(group, key, shape, ndim, err);
}

static void fill(gm_params *group, int view, float value) {
    float *v = gm_params_view_data(group, view);
    for (size_t i = 0; i < gm_params_view(group, view)->numel; i++)
        v[i] = value;
}

/* weight and bias uniform in +-1/sqrt(fan_in), as PyTorch's Linear,
 * Conv2d and ConvTranspose2d (whose fan_in counts output channels). */
static gm_status init_weights(gm_layer *l, gm_params *group, const char *prefix,
                              int i, gm_rng *init, gm_error *err) {
    const gm_layer_spec *s = &l->spec;
    int w_shape[4], w_ndim, fan_in, out;
    if (s->kind == GM_LAYER_LINEAR) {
        out = l->out_shape[0];
        fan_in = l->in_shape[0];
        w_shape[0] = out, w_shape[1] = fan_in, w_ndim = 2;
    } else {
        int c_in = l->in_shape[0], k = s->kernel;
        out = s->out;
        bool t = s->kind == GM_LAYER_CONV_TRANSPOSE2D;
        w_shape[0] = t ? c_in : out, w_shape[1] = t ? out : c_in;
        w_shape[2] = w_shape[3] = k, w_ndim = 4;
        fan_in = w_shape[1] * k * k;
    }
    l->weight = add_view(group, prefix, i, "weight", w_shape, w_ndim, err);
    if (l->weight < 0) return err ? err->status : GM_ERR_INVALID;
    if (!s->no_bias) {
        l->bias = add_view(group, prefix, i, "bias", (int[]){out}, 1, err);
        if (l->bias < 0) return err ? err->status : GM_ERR_INVALID;
    }
    float bound = 1.0f / sqrtf((float)fan_in);
    gm_rng_fill_uniform(init, gm_params_view_data(group, l->weight),
                        gm_params_view(group, l->weight)->numel, -bound, bound);
    if (l->bias >= 0)
        gm_rng_fill_uniform(init, gm_params_view_data(group, l->bias),
                            (size_t)out, -bound, bound);
    return GM_OK;
}

static gm_status init_batch_norm(gm_layer *l, gm_params *group,
                                 gm_params *stats, const char *prefix, int i,
                                 gm_error *err) {
    int c[1] = {l->in_shape[0]};
    l->weight = add_view(group, prefix, i, "weight", c, 1, err);
    l->bias =
        l->weight < 0 ? -1 : add_view(group, prefix, i, "bias", c, 1, err);
    l->mean = l->bias < 0
                  ? -1
                  : add_view(stats, prefix, i, "running_mean", c, 1, err);
    l->var =
        l->mean < 0 ? -1 : add_view(stats, prefix, i, "running_var", c, 1, err);
    if (l->var < 0) return err ? err->status : GM_ERR_INVALID;
    fill(group, l->weight, 1.0f);
    fill(group, l->bias, 0.0f);
    fill(stats, l->mean, 0.0f);
    fill(stats, l->var, 1.0f);
    return GM_OK;
}

static gm_status check_size(const char *prefix, const gm_layer *layers, int n,
                            gm_error *err) {
    unsigned long long total = 0;
    for (int i = 0; i < n; i++)
        total += (unsigned long long)layers[i].params;
    if (total <= GM_MODEL_PARAMS_MAX) return GM_OK;
    return gm_error_set(err, GM_ERR_INVALID,
                        "network '%s': too large: %llu parameters, over gm's "
                        "limit of %llu (%.0f GiB of float32) for one model",
                        prefix, total, (unsigned long long)GM_MODEL_PARAMS_MAX,
                        GM_MODEL_PARAM_BYTES_MAX / (double)(1 << 30));
}

gm_status gm_net_init(gm_mlp *m, gm_params *group, gm_params *stats,
                      const char *prefix, int in, const gm_mlp_spec *spec,
                      gm_rng *init, gm_error *err) {
    if (spec->n_layers == 0)
        return gm_mlp_init(m, group, prefix, in, spec, init, err);
    if (gm_net_has_stats(spec) && !stats)
        return gm_error_set(err, GM_ERR_INVALID,
                            "network '%s' has batch norm layers but no group "
                            "for their running statistics",
                            prefix);
    memset(m, 0, sizeof *m);
    int bad;
    gm_status st = gm_net_plan(spec, in, spec->out, prefix, m->net, &bad, err);
    if (st == GM_OK) st = check_size(prefix, m->net, spec->n_layers, err);
    for (int i = 0; st == GM_OK && i < spec->n_layers; i++) {
        gm_layer *l = &m->net[i];
        switch (l->spec.kind) {
        case GM_LAYER_LINEAR:
        case GM_LAYER_CONV2D:
        case GM_LAYER_CONV_TRANSPOSE2D:
            st = init_weights(l, group, prefix, i, init, err);
            break;
        case GM_LAYER_BATCH_NORM:
            st = init_batch_norm(l, group, stats, prefix, i, err);
            break;
        default: break;
        }
    }
    if (st != GM_OK) return st;
    const gm_layer *last = &m->net[spec->n_layers - 1];
    m->params = group;
    m->stats = stats;
    m->in = in;
    m->out = (int)numel_of(last->out_shape, last->out_ndim);
    m->n_net = spec->n_layers;
    return GM_OK;
}

/* ---- forward ----------------------------------------------------------- */

static gm_node *param_or_null(gm_graph *g, gm_params *group, int view) {
    return view >= 0 ? gm_param(g, group, view) : NULL;
}

/* x [rows, per-sample shape] through layer l; *skip is set when l fused
 * the next layer (a Linear followed by a ReLU is one affine_relu). */
static gm_node *layer_forward(gm_graph *g, const gm_mlp *m, gm_params *params,
                              int i, gm_node *x, int rows, bool *skip) {
    const gm_layer *l = &m->net[i];
    const gm_layer_spec *s = &l->spec;
    gm_node *w = param_or_null(g, params, l->weight);
    gm_node *b = param_or_null(g, params, l->bias);
    bool relu_next =
        i + 1 < m->n_net && m->net[i + 1].spec.kind == GM_LAYER_RELU;
    switch (s->kind) {
    case GM_LAYER_LINEAR:
        if (!b) return gm_matmul(g, x, w, false, true);
        *skip = relu_next;
        return relu_next ? gm_affine_relu(g, x, w, b) : gm_affine(g, x, w, b);
    case GM_LAYER_CONV2D: return gm_conv2d(g, x, w, b, s->stride, s->padding);
    case GM_LAYER_CONV_TRANSPOSE2D:
        return gm_conv_transpose2d(g, x, w, b, s->stride, s->padding);
    case GM_LAYER_BATCH_NORM:
        gm_graph_freeze(g, m->stats); /* state, not trained */
        return gm_batch_norm(g, x, w, b, gm_param(g, m->stats, l->mean),
                             gm_param(g, m->stats, l->var), true,
                             s->momentum > 0 ? s->momentum : 0.1f,
                             s->eps > 0 ? s->eps : 1e-5f);
    case GM_LAYER_RELU: return gm_relu(g, x);
    case GM_LAYER_LEAKY_RELU:
        return gm_leaky_relu(g, x, s->slope > 0 ? s->slope : 0.2f);
    case GM_LAYER_TANH: return gm_tanh(g, x);
    case GM_LAYER_SIGMOID: return gm_sigmoid(g, x);
    case GM_LAYER_RESHAPE:
    case GM_LAYER_FLATTEN: {
        int dims[4] = {rows, l->out_shape[0], l->out_shape[1], l->out_shape[2]};
        return gm_reshape(g, x, dims, 1 + l->out_ndim);
    }
    default: return NULL;
    }
}

gm_node *gm_net_forward_layers(gm_graph *g, const gm_mlp *m, gm_params *params,
                               gm_node *x) {
    if (!x) return NULL;
    int rows = gm_node_shape(x)->dim[0];
    for (int i = 0; x && i < m->n_net; i++) {
        bool skip = false;
        x = layer_forward(g, m, params, i, x, rows, &skip);
        i += skip;
    }
    if (x && gm_node_shape(x)->ndim != 2)
        x = gm_reshape(g, x, (int[]){rows, m->out}, 2);
    return x;
}
