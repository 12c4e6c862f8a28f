/* Networks as lists of layers: the walks over a list that plan its
 * shapes, add its parameters and build its forward, each layer doing its
 * part as its kind's row says (nn/layer_kinds.c). */
#include <limits.h>
#include <string.h>

#include "gm/limits.h"
#include "gm/nn.h"
#include "gm/ops.h"
#include "nn/nn_internal.h"
#include "nn/layer_kinds.h"

bool gm_net_has_stats(const gm_net_spec *spec) {
    for (int i = 0; i < spec->n_layers; i++) {
        const gm_layer_kind_desc *k =
            gm_layer_kind_desc_of(spec->layers[i].kind);
        if (k && k->has_stats) return true;
    }
    return false;
}

static gm_status plan_layer(const gm_layer_plan *p, gm_layer *l) {
    const gm_layer_kind_desc *k = gm_layer_kind_desc_of(l->spec.kind);
    l->out_ndim = l->in_ndim;
    memcpy(l->out_shape, l->in_shape, sizeof l->out_shape);
    l->params = 0;
    if (!k)
        return gm_layer_plan_fail(p, "unknown layer kind %d",
                                  (int)l->spec.kind);
    return k->plan ? k->plan(p, l) : GM_OK;
}

gm_status gm_net_plan(const gm_net_spec *spec, int in, int out,
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
        gm_layer_plan p = {where, i, l, i == spec->n_layers - 1 ? out : 0, err};
        gm_status st = plan_layer(&p, l);
        if (st == GM_OK && gm_layer_numel(l->out_shape, l->out_ndim) > INT_MAX)
            st = gm_layer_plan_fail(&p, "output too large");
        if (st != GM_OK) {
            *bad = i;
            return st;
        }
        ndim = l->out_ndim;
        memcpy(shape, l->out_shape, sizeof shape);
    }
    long long features = gm_layer_numel(shape, ndim);
    char s[64];
    if (out > 0 && features != out) {
        *bad = spec->n_layers - 1;
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s.layers[%d] (%s): output %s has %lld "
                            "features, but the network must give %d",
                            where, spec->n_layers - 1,
                            gm_layer_kind_name(spec->layers[*bad].kind),
                            gm_layer_dims_str(shape, ndim, s, sizeof s),
                            features, out);
    }
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

gm_status gm_net_init(gm_net *m, gm_params *group, gm_params *stats,
                      const char *prefix, int in, const gm_net_spec *spec,
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
        const gm_layer_kind_desc *k = gm_layer_kind_desc_of(l->spec.kind);
        gm_layer_init c = {group, stats, prefix, i, init, err};
        if (k->init) st = k->init(l, &c);
    }
    if (st != GM_OK) return st;
    const gm_layer *last = &m->net[spec->n_layers - 1];
    m->params = group;
    m->stats = stats;
    m->in = in;
    m->out = (int)gm_layer_numel(last->out_shape, last->out_ndim);
    m->n_net = spec->n_layers;
    return GM_OK;
}

gm_node *gm_net_forward_layers(gm_graph *g, const gm_net *m,
                               const gm_net_weights *w, gm_node *x) {
    if (!x) return NULL;
    int rows = gm_node_shape(x)->dim[0];
    for (int i = 0; x && i < m->n_net; i++) {
        const gm_layer_spec *s = &m->net[i].spec;
        const gm_layer_kind_desc *k = gm_layer_kind_desc_of(s->kind);
        gm_layer_step step = {g, m, w, i, rows, false};
        x = k->activate ? k->activate(g, x, s->activation_param)
                        : k->forward(&step, x);
        i += step.fused_next;
    }
    if (x && gm_node_shape(x)->ndim != 2)
        x = gm_reshape(g, x, (int[]){rows, m->out}, 2);
    return x;
}
