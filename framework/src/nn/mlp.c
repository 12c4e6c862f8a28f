#include "gm/nn.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gm/limits.h"
#include "gm/ops.h"
#include "nn/nn_internal.h"

gm_status gm_linear_init(gm_linear *l, gm_params *group, const char *name,
                         int in, int out, gm_rng *init, gm_error *err) {
    if (in < 1 || out < 1)
        return gm_error_set(err, GM_ERR_INVALID,
                            "linear '%s': sizes must be positive, got %d -> %d",
                            name, in, out);
    if (strlen(name) + sizeof ".weight" > GM_NAME_MAX)
        return gm_error_set(err, GM_ERR_INVALID,
                            "linear '%s': name longer than %d characters", name,
                            GM_NAME_MAX - (int)sizeof ".weight");
    char key[GM_NAME_MAX + 8];
    snprintf(key, sizeof key, "%s.weight", name);
    l->weight = gm_params_add(group, key, (int[]){out, in}, 2, err);
    if (l->weight < 0) return err ? err->status : GM_ERR_INVALID;
    snprintf(key, sizeof key, "%s.bias", name);
    l->bias = gm_params_add(group, key, (int[]){out}, 1, err);
    if (l->bias < 0) return err ? err->status : GM_ERR_INVALID;
    l->in = in;
    l->out = out;
    /* torch.nn.Linear: kaiming_uniform(a = sqrt 5) for W gives the same
     * bound 1/sqrt(fan_in) as the bias. */
    float bound = 1.0f / sqrtf((float)in);
    gm_rng_fill_uniform(init, gm_params_view_data(group, l->weight),
                        (size_t)in * out, -bound, bound);
    gm_rng_fill_uniform(init, gm_params_view_data(group, l->bias), (size_t)out,
                        -bound, bound);
    return GM_OK;
}

gm_node *gm_linear_forward(gm_graph *g, const gm_linear *l, gm_params *group,
                           gm_node *x) {
    return gm_affine(g, x, gm_param(g, group, l->weight),
                     gm_param(g, group, l->bias));
}

/* The experiment's reader checks whole models against gm/limits.h; this
 * catches one network over the limit where the reader could not know its
 * size (the data's dimension comes from a file), before any allocation. */
static gm_status check_size(const char *prefix, int in, const gm_net_spec *spec,
                            gm_error *err) {
    uint64_t params = 0; /* <= GM_MODEL_PARAMS_MAX before each add */
    int width = in;
    for (int i = 0; i <= spec->n_hidden; i++) {
        int next = i < spec->n_hidden ? spec->hidden[i] : spec->out;
        if (width < 1 || next < 1) return GM_OK; /* gm_linear_init says */
        params += (uint64_t)width * (uint64_t)next + (uint64_t)next;
        if (params > GM_MODEL_PARAMS_MAX)
            return gm_error_set(
                err, GM_ERR_INVALID,
                "mlp '%s': too large: more than %llu parameters (%.0f GiB "
                "of float32, gm's limit for one model); layer %s.%d maps "
                "%d to %d features",
                prefix, (unsigned long long)GM_MODEL_PARAMS_MAX,
                GM_MODEL_PARAM_BYTES_MAX / (double)(1 << 30), prefix, i, width,
                next);
        width = next;
    }
    return GM_OK;
}

gm_status gm_mlp_init(gm_net *m, gm_params *group, const char *prefix, int in,
                      const gm_net_spec *spec, gm_rng *init, gm_error *err) {
    if (spec->n_layers != 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "mlp '%s': a list of layers is built by "
                            "gm_net_init",
                            prefix);
    if (spec->n_hidden < 0 || spec->n_hidden >= GM_MLP_MAX_LAYERS)
        return gm_error_set(err, GM_ERR_INVALID,
                            "mlp '%s': %d hidden layers (at most %d)", prefix,
                            spec->n_hidden, GM_MLP_MAX_LAYERS - 1);
    gm_status size = check_size(prefix, in, spec, err);
    if (size != GM_OK) return size;
    memset(m, 0, sizeof *m);
    m->params = group;
    m->in = in;
    m->out = spec->out;
    m->activation = spec->activation;
    m->out_activation = spec->out_activation;
    m->activation_param = spec->activation_param;
    int width = in;
    for (int i = 0; i <= spec->n_hidden; i++) {
        int next = i < spec->n_hidden ? spec->hidden[i] : spec->out;
        char name[GM_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.%d", prefix, i);
        gm_status s =
            gm_linear_init(&m->layers[i], group, name, width, next, init, err);
        if (s != GM_OK) return s;
        width = next;
    }
    m->n_layers = spec->n_hidden + 1;
    return GM_OK;
}

/* The network's forward, its weights read from w. */
gm_node *gm_net_forward_weights(gm_graph *g, const gm_net *m,
                                const gm_net_weights *w, gm_node *x) {
    if (m->n_net > 0) return gm_net_forward_layers(g, m, w, x);
    for (int i = 0; i < m->n_layers; i++) {
        const gm_linear *l = &m->layers[i];
        gm_activation act =
            i == m->n_layers - 1 ? m->out_activation : m->activation;
        gm_node *weight = gm_net_weight(g, w, l->weight);
        gm_node *bias = gm_net_weight(g, w, l->bias);
        if (act == GM_ACT_RELU) {
            x = gm_affine_relu(g, x, weight, bias);
            continue;
        }
        x = gm_affine(g, x, weight, bias);
        x = gm_activate(g, x, act, m->activation_param);
    }
    return x;
}

gm_node *gm_net_forward_with(gm_graph *g, const gm_net *m, gm_params *params,
                             gm_node *x) {
    gm_net_weights w = {params, NULL};
    return gm_net_forward_weights(g, m, &w, x);
}

gm_node *gm_net_forward(gm_graph *g, const gm_net *m, gm_node *x) {
    return gm_net_forward_with(g, m, m->params, x);
}
