/* A model's size: its networks must fit the limits of gm/limits.h.
 *
 * Checked when the experiment is read, from the hidden widths (or the
 * layers, whose shapes are checked here too), latent_dim, the data's
 * dimension and number of classes where the dataset fixes them and the
 * objective's role shapes, in 64-bit counts that saturate instead of
 * wrapping. A typo then fails with a message naming its key, before
 * anything is allocated, rather than overflowing an int or exhausting
 * memory in the build. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "gm/limits.h"

#define GIB ((double)(1 << 30))

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* One width of a network, what it is, and the key that set it: `at` is
 * NULL if no key of the model chose it (the data's, a fixed or default
 * one). */
typedef struct width {
    uint64_t value;
    char name[64]; /* "encoder.0 output", "decoder input" */
    const gm_ynode *at;
    char path[GM_CFG_PATH_MAX + 16];
} width;

/* The model's largest layer and widest width so far. */
typedef struct model_sizes {
    uint64_t params;
    bool lower_bound; /* some width was unknown and counted as 1 */
    uint64_t largest_params;
    width largest_in, largest_out;
    char largest_name[GM_CFG_PATH_MAX]; /* "encoder.2.weight" */
    width widest;
} model_sizes;

/* What the widths of one model are made of. */
typedef struct sizes_ctx {
    const gm_cfg *c;
    const gm_ynode *root, *model;
    const char *path; /* models.<name> */
    const gm_model_spec *spec;
    const gm_objective_schema *schema;
    uint64_t data_dim; /* 1 when only the data file knows it */
    bool data_dim_known;
    uint64_t classes; /* 1 when only the data file knows them */
    bool classes_known;
} sizes_ctx;

/* An input or output width from the role's declared shape (1, a lower
 * bound, if the objective declares none). */
static width end_width(const sizes_ctx *s, model_sizes *m, int role,
                       bool input) {
    width w = {.value = 1};
    snprintf(w.name, sizeof w.name, "%s %s", s->schema->roles[role],
             input ? "input" : "output");
    if (!s->schema->shapes) {
        m->lower_bound = true;
        return w;
    }
    const gm_role_shape *shape = &s->schema->shapes[role];
    const gm_width *rule = input ? &shape->in : &shape->out;
    uint64_t latent =
        mul_sat((uint64_t)rule->latent, (uint64_t)s->spec->latent_dim);
    uint64_t data = mul_sat((uint64_t)rule->data, s->data_dim);
    uint64_t classes = mul_sat((uint64_t)rule->classes, s->classes);
    w.value =
        add_sat(add_sat(latent, data), add_sat((uint64_t)rule->fixed, classes));
    if (rule->data > 0 && !s->data_dim_known) m->lower_bound = true;
    if (rule->classes > 0 && !s->classes_known) m->lower_bound = true;
    /* latent_dim is to blame where it makes most of the width. */
    if (rule->latent > 0 && latent >= w.value - latent)
        w.at =
            gm_cfg_get(s->model, s->path, "latent_dim", w.path, sizeof w.path);
    return w;
}

/* The widths of network `role`, input to output; returns their count. */
static int network_widths(const sizes_ctx *s, model_sizes *m, int role,
                          width *out) {
    const char *name = s->schema->roles[role];
    const gm_net_spec *mlp = &s->spec->networks[role].net;
    char net_path[GM_CFG_PATH_MAX], hidden_path[GM_CFG_PATH_MAX];
    const gm_ynode *net =
        gm_cfg_get(s->model, s->path, name, net_path, sizeof net_path);
    const gm_ynode *hidden = net && net->kind == GM_YMAP
                                 ? gm_cfg_get(net, net_path, "hidden",
                                              hidden_path, sizeof hidden_path)
                                 : NULL;
    int n = 0;
    out[n++] = end_width(s, m, role, true);
    for (int i = 0; i < mlp->n_hidden; i++, n++) {
        out[n] = (width){.value = (uint64_t)mlp->hidden[i]};
        snprintf(out[n].name, sizeof out[n].name, "%s.%d output", name, i);
        if (hidden && hidden->kind == GM_YSEQ && i < hidden->n) {
            out[n].at = hidden->child[i];
            snprintf(out[n].path, sizeof out[n].path, "%s[%d]", hidden_path, i);
        }
    }
    out[n++] = end_width(s, m, role, false);
    return n;
}

/* A network's end width, or 0 if no key fixes it (the data's dimension
 * only its file knows, or no declared shape). */
static int known_end_width(const sizes_ctx *s, int role, bool input) {
    model_sizes probe;
    memset(&probe, 0, sizeof probe);
    width w = end_width(s, &probe, role, input);
    return probe.lower_bound || w.value > INT_MAX ? 0 : (int)w.value;
}

/* A list of layers: each one's shape checked (where both ends are known),
 * its parameters counted and its output a width. */
static gm_status add_layer_network(const sizes_ctx *s, model_sizes *m,
                                   int role) {
    const char *name = s->schema->roles[role];
    const gm_net_spec *spec = &s->spec->networks[role].net;
    int in = known_end_width(s, role, true);
    int out = known_end_width(s, role, false);
    if (in == 0 || out == 0) { /* checked when the network is built */
        m->lower_bound = true;
        return GM_OK;
    }
    char net_path[GM_CFG_PATH_MAX], layers_path[GM_CFG_PATH_MAX];
    const gm_ynode *net =
        gm_cfg_get(s->model, s->path, name, net_path, sizeof net_path);
    const gm_ynode *items =
        gm_cfg_get(net, net_path, "layers", layers_path, sizeof layers_path);
    gm_layer layers[GM_NET_MAX_LAYERS];
    gm_error perr = {0};
    int bad;
    if (gm_net_plan(spec, in, out, net_path, layers, &bad, &perr) != GM_OK) {
        const gm_ynode *at = bad >= 0 ? items->child[bad] : items;
        return gm_cfg_fail(s->c, at, "", "%s", perr.message);
    }
    for (int i = 0; i < spec->n_layers; i++) {
        const gm_layer *l = &layers[i];
        width w = {.value = 1, .at = items->child[i]};
        for (int d = 0; d < l->out_ndim; d++)
            w.value = mul_sat(w.value, (uint64_t)l->out_shape[d]);
        snprintf(w.name, sizeof w.name, "%s.layers[%d] output", name, i);
        snprintf(w.path, sizeof w.path, "%s[%d]", layers_path, i);
        if (w.value > m->widest.value) m->widest = w;
        m->params = add_sat(m->params, (uint64_t)l->params);
        if ((uint64_t)l->params <= m->largest_params) continue;
        m->largest_params = (uint64_t)l->params;
        m->largest_in = (width){.value = 1};
        for (int d = 0; d < l->in_ndim; d++)
            m->largest_in.value =
                mul_sat(m->largest_in.value, (uint64_t)l->in_shape[d]);
        m->largest_out = w;
        snprintf(m->largest_name, sizeof m->largest_name, "%s.%d.weight", name,
                 i);
    }
    return GM_OK;
}

static void add_network(const sizes_ctx *s, model_sizes *m, int role) {
    width w[GM_MLP_MAX_LAYERS + 1];
    int n = network_widths(s, m, role, w);
    for (int i = 0; i < n; i++)
        if (w[i].value > m->widest.value) m->widest = w[i];
    for (int i = 0; i + 1 < n; i++) {
        /* Layer i: weight [out, in] and bias [out]. */
        uint64_t params =
            add_sat(mul_sat(w[i].value, w[i + 1].value), w[i + 1].value);
        m->params = add_sat(m->params, params);
        if (params <= m->largest_params) continue;
        m->largest_params = params;
        m->largest_in = w[i];
        m->largest_out = w[i + 1];
        snprintf(m->largest_name, sizeof m->largest_name, "%s.%d.weight",
                 s->schema->roles[role], i);
    }
}

/* The key to blame among two widths: the larger one that a key set. */
static const width *blame(const width *a, const width *b) {
    const width *big = a->value >= b->value ? a : b;
    const width *small = big == a ? b : a;
    if (big->at) return big;
    return small->at ? small : NULL;
}

static gm_status fail_at(const sizes_ctx *s, const width *culprit,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports at the culprit's key, or at the model if no key is to blame. */
static gm_status fail_at(const sizes_ctx *s, const width *culprit,
                         const char *fmt, ...) {
    const gm_ynode *at = culprit ? culprit->at : s->model;
    va_list ap;
    va_start(ap, fmt);
    gm_cfg_verror(s->c->err, GM_ERR_INVALID, s->c->source, at->set, at->line,
                  at->col, culprit ? culprit->path : s->path, fmt, ap);
    va_end(ap);
    return GM_ERR_INVALID;
}

static gm_status check_params(const sizes_ctx *s, const model_sizes *m) {
    if (m->params <= GM_MODEL_PARAMS_MAX) return GM_OK;
    bool at_least = m->lower_bound || m->params == UINT64_MAX;
    return fail_at(s, blame(&m->largest_in, &m->largest_out),
                   "too large: model %s's networks would hold %s%llu "
                   "parameters (%.3g GiB of float32), over gm's limit of "
                   "%.0f GiB of parameters per model; the largest layer, "
                   "%s, maps %llu to %llu features",
                   s->spec->name, at_least ? "at least " : "",
                   (unsigned long long)m->params,
                   (double)m->params * sizeof(float) / GIB,
                   GM_MODEL_PARAM_BYTES_MAX / GIB, m->largest_name,
                   (unsigned long long)m->largest_in.value,
                   (unsigned long long)m->largest_out.value);
}

/* The rows a layer sees at once: a training batch or the evaluation's
 * samples, whichever is more, and the key that set that number. */
static width batch_rows(const sizes_ctx *s, const gm_experiment *e) {
    width rows = {.value = (uint64_t)s->spec->train.batch_size};
    snprintf(rows.name, sizeof rows.name, "train.batch_size");
    char p[GM_CFG_PATH_MAX];
    if (e->eval_samples > s->spec->train.batch_size) {
        rows.value = (uint64_t)e->eval_samples;
        snprintf(rows.name, sizeof rows.name, "eval.samples");
        const gm_ynode *eval = gm_cfg_get(s->root, "", "eval", p, sizeof p);
        if (eval && eval->kind == GM_YMAP)
            rows.at =
                gm_cfg_get(eval, p, "samples", rows.path, sizeof rows.path);
        return rows;
    }
    /* The model's own train first, then the global one. */
    const gm_ynode *layers[2] = {s->model, s->root};
    const char *paths[2] = {s->path, ""};
    for (int i = 0; i < 2 && !rows.at; i++) {
        const gm_ynode *train =
            gm_cfg_get(layers[i], paths[i], "train", p, sizeof p);
        if (train && train->kind == GM_YMAP)
            rows.at =
                gm_cfg_get(train, p, "batch_size", rows.path, sizeof rows.path);
    }
    return rows;
}

static gm_status check_layer_output(const sizes_ctx *s, const gm_experiment *e,
                                    const model_sizes *m) {
    width rows = batch_rows(s, e);
    uint64_t floats = mul_sat(rows.value, m->widest.value);
    if (floats <= GM_LAYER_OUTPUT_MAX) return GM_OK;
    return fail_at(
        s, blame(&rows, &m->widest),
        "too large: model %s's %s is %llu wide, and %llu rows of "
        "it (%s) would take %.3g GiB of float32, over gm's limit "
        "of %.0f GiB for one layer's output",
        s->spec->name, m->widest.name, (unsigned long long)m->widest.value,
        (unsigned long long)rows.value, rows.name,
        (double)floats * sizeof(float) / GIB, GM_LAYER_OUTPUT_BYTES_MAX / GIB);
}

gm_status gm_cfg_model_sizes(const gm_cfg *c, const gm_ynode *root,
                             const gm_ynode *model, const char *path,
                             const gm_objective_schema *schema,
                             const gm_experiment *e, int index) {
    const gm_model_spec *spec = &e->models[index];
    int data_dim = gm_cfg_dataset_dim(&e->dataset);
    int classes = gm_cfg_dataset_classes(&e->dataset);
    sizes_ctx s = {.c = c,
                   .root = root,
                   .model = model,
                   .path = path,
                   .spec = spec,
                   .schema = schema,
                   .data_dim = data_dim > 0 ? (uint64_t)data_dim : 1,
                   .data_dim_known = data_dim > 0,
                   .classes = classes > 0 ? (uint64_t)classes : 1,
                   .classes_known = classes > 0};
    model_sizes m;
    memset(&m, 0, sizeof m);
    gm_status st = GM_OK;
    for (int r = 0; st == GM_OK && r < spec->n_networks; r++) {
        if (spec->networks[r].net.n_layers > 0)
            st = add_layer_network(&s, &m, r);
        else
            add_network(&s, &m, r);
    }
    if (st == GM_OK) st = check_params(&s, &m);
    return st == GM_OK ? check_layer_output(&s, e, &m) : st;
}
