/* models: each model's objective (whose schema gives its network roles and
 * hyperparameters), networks, params and per-model train. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const model_keys[] = {"objective", "plugin", "latent_dim",
                                         "params", "train"};
enum { N_MODEL_KEYS = sizeof model_keys / sizeof model_keys[0] };
static const char *const network_keys[] = {"hidden", "activation",
                                           "activation_param", "layers"};

static gm_status network(const gm_cfg *c, const gm_ynode *m, const char *path,
                         gm_net_spec *out) {
    *out = (gm_net_spec){.hidden = {128, 128},
                         .n_hidden = 2,
                         .activation = GM_ACT_RELU,
                         .out_activation = GM_ACT_NONE};
    gm_status st = gm_cfg_check_keys(c, m, path, network_keys, 4);
    if (st != GM_OK) return st;
    char p[GM_CFG_PATH_MAX];
    const gm_ynode *layers = gm_cfg_get(m, path, "layers", p, sizeof p);
    if (layers) {
        for (int k = 0; k < 3; k++) {
            char other[GM_CFG_PATH_MAX];
            const gm_ynode *o =
                gm_cfg_get(m, path, network_keys[k], other, sizeof other);
            if (o)
                return gm_cfg_fail(c, o, other,
                                   "a network is either hidden: [...] (an "
                                   "MLP) or layers: [...], not both");
        }
        return gm_cfg_layers(c, layers, p, out);
    }
    const gm_ynode *v = gm_cfg_get(m, path, "hidden", p, sizeof p);
    if (v && v->kind != GM_YSEQ)
        return gm_cfg_fail_type(c, v, p, "a list of layer widths");
    if (v && v->n > GM_MLP_MAX_LAYERS - 1)
        return gm_cfg_fail(c, v, p, "at most %d hidden layers, got %d",
                           GM_MLP_MAX_LAYERS - 1, v->n);
    if (v) out->n_hidden = v->n;
    for (int i = 0; v && i < v->n; i++) {
        char item[GM_CFG_PATH_MAX + 16];
        snprintf(item, sizeof item, "%s[%d]", p, i);
        st = gm_cfg_int(c, v->child[i], item, GM_CFG_AT_LEAST(1),
                        &out->hidden[i]);
        if (st != GM_OK) return st;
    }
    const char *names[GM_ACT_COUNT];
    for (int a = 0; a < GM_ACT_COUNT; a++)
        names[a] = gm_activation_name((gm_activation)a);
    v = gm_cfg_get(m, path, "activation", p, sizeof p);
    int act = GM_ACT_RELU;
    if (v) st = gm_cfg_choice(c, v, p, names, GM_ACT_COUNT, &act);
    if (st != GM_OK) return st;
    out->activation = (gm_activation)act;
    return gm_cfg_get_float(c, m, path, "activation_param", GM_CFG_ANY,
                            &out->activation_param);
}

static int count_choices(const char *const *choices) {
    int n = 0;
    while (choices && choices[n])
        n++;
    return n;
}

static gm_status param(const gm_cfg *c, const gm_ynode *v, const char *path,
                       const gm_hparam_spec *spec, gm_hparams *h, int i) {
    gm_cfg_range r = gm_hparam_bounded(spec)
                         ? (gm_cfg_range){spec->min, spec->max, false, false}
                         : GM_CFG_ANY;
    gm_status st = GM_OK;
    switch (spec->type) {
    case GM_HP_FLOAT: return gm_cfg_number(c, v, path, r, &h->item[i].number);
    case GM_HP_INT: {
        long n = 0;
        st = gm_cfg_long(c, v, path, r, &n);
        h->item[i].number = (double)n;
        return st;
    }
    case GM_HP_BOOL: {
        bool b = false;
        st = gm_cfg_bool(c, v, path, &b);
        h->item[i].number = b;
        return st;
    }
    case GM_HP_CHOICE: {
        int k = 0;
        st = gm_cfg_choice(c, v, path, spec->choices,
                           count_choices(spec->choices), &k);
        if (st == GM_OK)
            snprintf(h->item[i].choice, sizeof h->item[i].choice, "%s",
                     spec->choices[k]);
        return st;
    }
    }
    return gm_cfg_fail(c, v, path, "objective declares an unknown type %d",
                       (int)spec->type);
}

static gm_status params(const gm_cfg *c, const gm_ynode *m, const char *path,
                        const gm_objective_schema *schema, gm_hparams *out) {
    gm_hparams_defaults(out, schema->hparams, schema->n_hparams);
    const char *names[GM_HPARAMS_MAX];
    for (int i = 0; i < schema->n_hparams; i++)
        names[i] = schema->hparams[i].name;
    int bad = gm_cfg_unknown(m, names, schema->n_hparams);
    if (bad >= 0) {
        char hint[128];
        snprintf(hint, sizeof hint, "objective %s has no parameters",
                 schema->name);
        return gm_cfg_fail_unknown(c, m, bad, path, names, schema->n_hparams,
                                   schema->n_hparams ? NULL : hint);
    }
    for (int i = 0; i < schema->n_hparams; i++) {
        char p[GM_CFG_PATH_MAX];
        const gm_ynode *v = gm_cfg_get(m, path, names[i], p, sizeof p);
        gm_status st = v ? param(c, v, p, &schema->hparams[i], out, i) : GM_OK;
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

/* A width rule that gives at least 1 for any latent_dim and data. */
static bool width_ok(const gm_width *w) {
    return w->latent >= 0 && w->data >= 0 && w->fixed >= 0 && w->classes >= 0 &&
           (w->latent > 0 || w->data > 0 || w->fixed > 0 || w->classes > 0);
}

/* Asks the lookup for the objective's schema and checks it fits. */
static gm_status schema_of(const gm_cfg *c, const gm_ynode *at,
                           const char *path, const gm_model_spec *spec,
                           const gm_objective_schema **out) {
    gm_error lerr = {0};
    *out = c->lookup(spec->objective, spec->plugin, c->lookup_ctx, &lerr);
    if (!*out) {
        gm_cfg_fail(c, at, path, "%s",
                    lerr.message[0] ? lerr.message : "unknown objective");
        gm_status st = lerr.status != GM_OK ? lerr.status : GM_ERR_NOT_FOUND;
        if (c->err) c->err->status = st;
        return st;
    }
    const gm_objective_schema *s = *out;
    if (s->n_roles > GM_MAX_ROLES || s->n_hparams > GM_HPARAMS_MAX)
        return gm_cfg_fail(c, at, path,
                           "objective %s declares %d networks and %d "
                           "parameters; gm takes at most %d and %d",
                           spec->objective, s->n_roles, s->n_hparams,
                           GM_MAX_ROLES, GM_HPARAMS_MAX);
    for (int r = 0; s->shapes && r < s->n_roles; r++)
        if (!width_ok(&s->shapes[r].in) || !width_ok(&s->shapes[r].out))
            return gm_cfg_fail(c, at, path,
                               "objective %s declares a shape for network "
                               "%s whose width can be 0 or negative",
                               spec->objective, s->roles[r]);
    return GM_OK;
}

static gm_status model_keys_known(const gm_cfg *c, const gm_ynode *m,
                                  const char *path,
                                  const gm_objective_schema *s) {
    const char *known[N_MODEL_KEYS + GM_MAX_ROLES];
    memcpy(known, model_keys, sizeof model_keys);
    char roles[128] = "";
    size_t k = 0;
    for (int r = 0; r < s->n_roles; r++) {
        known[N_MODEL_KEYS + r] = s->roles[r];
        k +=
            (size_t)snprintf(roles + k, k < sizeof roles ? sizeof roles - k : 0,
                             "%s%s", r ? ", " : "", s->roles[r]);
    }
    int bad = gm_cfg_unknown(m, known, N_MODEL_KEYS + s->n_roles);
    if (bad < 0) return GM_OK;
    char hint[256];
    snprintf(hint, sizeof hint,
             "objective %s takes the networks %s, and a model the keys "
             "objective, plugin, latent_dim, params, train",
             s->name, roles);
    return gm_cfg_fail_unknown(c, m, bad, path, known,
                               N_MODEL_KEYS + s->n_roles, hint);
}

/* A relative plugin path is taken from the experiment file's directory,
 * so that the file runs from any directory, and made absolute where the
 * library exists (the run file then records where it was). */
static gm_status resolve_plugin(const gm_cfg *c, const gm_ynode *m,
                                const char *path, char *plugin, size_t cap) {
    if (!plugin[0]) return GM_OK;
    char joined[2 * GM_PATH_MAX];
    const char *slash = strrchr(c->source, '/');
    if (plugin[0] != '/' && slash)
        snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - c->source),
                 c->source, plugin);
    else
        snprintf(joined, sizeof joined, "%s", plugin);
    char real[PATH_MAX];
    const char *resolved = realpath(joined, real) ? real : joined;
    if (strlen(resolved) >= cap) {
        char p[GM_CFG_PATH_MAX];
        gm_cfg_path_join(p, sizeof p, path, "plugin");
        return gm_cfg_fail(c, gm_cfg_get(m, path, "plugin", p, sizeof p), p,
                           "the plugin's path is longer than %zu characters",
                           cap - 1);
    }
    snprintf(plugin, cap, "%s", resolved);
    return GM_OK;
}

/* Everything but train, which needs the global section; *schema_out gets
 * the objective's schema. */
static gm_status model(const gm_cfg *c, const gm_ynode *m, const char *path,
                       gm_model_spec *out,
                       const gm_objective_schema **schema_out) {
    char p[GM_CFG_PATH_MAX];
    const gm_ynode *objective;
    gm_status st =
        gm_cfg_require(c, m, m, path, "objective", p, sizeof p, &objective);
    if (st == GM_OK)
        st = gm_cfg_string(c, objective, p, out->objective,
                           sizeof out->objective);
    if (st == GM_OK)
        st = gm_cfg_get_string(c, m, path, "plugin", out->plugin,
                               sizeof out->plugin);
    if (st == GM_OK)
        st = resolve_plugin(c, m, path, out->plugin, sizeof out->plugin);
    const gm_objective_schema *schema = NULL;
    gm_cfg_path_join(p, sizeof p, path, "objective");
    if (st == GM_OK) st = schema_of(c, objective, p, out, &schema);
    *schema_out = schema;
    if (st == GM_OK) st = model_keys_known(c, m, path, schema);
    out->latent_dim = 2;
    if (st == GM_OK)
        st = gm_cfg_get_int(c, m, path, "latent_dim", GM_CFG_AT_LEAST(1),
                            &out->latent_dim);
    for (int r = 0; st == GM_OK && r < schema->n_roles; r++) {
        gm_role_network *net = &out->networks[r];
        snprintf(net->role, sizeof net->role, "%s", schema->roles[r]);
        const gm_ynode *v = gm_cfg_get(m, path, schema->roles[r], p, sizeof p);
        st = gm_cfg_map(c, v, p, &v);
        if (st == GM_OK) st = network(c, v, p, &net->net);
        out->n_networks = r + 1;
    }
    if (st != GM_OK) return st;
    const gm_ynode *pm = gm_cfg_get(m, path, "params", p, sizeof p);
    st = gm_cfg_map(c, pm, p, &pm);
    return st == GM_OK ? params(c, pm, p, schema, &out->params) : st;
}

/* A batch is drawn from the training rows without replacement: it cannot
 * be larger than the dataset, where the experiment says how large that is
 * (the run's setup checks the file kinds). Reported at the batch size that
 * applies, or at dataset.size when the batch size is the default. */
static gm_status batch_fits(const gm_cfg *c, const gm_ynode *root,
                            const gm_cfg_scope *s, const char *model_path,
                            const gm_experiment *e, int batch_size) {
    long rows = gm_cfg_dataset_rows(&e->dataset);
    if (rows == 0 || batch_size <= rows) return GM_OK;
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_scopes_get(s, 2, "batch_size", path, sizeof path);
    if (v)
        return gm_cfg_fail(c, v, path,
                           "%d is more than the %ld rows of dataset %s "
                           "(dataset.size): a batch is drawn from them",
                           batch_size, rows, e->dataset.name);
    char dpath[GM_CFG_PATH_MAX], hint[GM_CFG_PATH_MAX + 32];
    const gm_ynode *d = gm_cfg_get(root, "", "dataset", dpath, sizeof dpath);
    const gm_ynode *size = gm_cfg_get(d, dpath, "size", dpath, sizeof dpath);
    snprintf(hint, sizeof hint, "%s.train", model_path);
    return gm_cfg_fail(c, size ? size : d, dpath,
                       "%ld rows, fewer than the default batch size %d of "
                       "%s: set train.batch_size or %s.batch_size",
                       rows, batch_size, model_path, hint);
}

static gm_status model_train(const gm_cfg *c, const gm_ynode *root,
                             const gm_ynode *m, const char *path,
                             const gm_experiment *e, gm_train_spec *out) {
    char gpath[GM_CFG_PATH_MAX], mpath[GM_CFG_PATH_MAX];
    gm_cfg_scope s[2] = {
        {gm_cfg_get(root, "", "train", gpath, sizeof gpath), gpath},
        {gm_cfg_get(m, path, "train", mpath, sizeof mpath), mpath}};
    gm_status st = gm_cfg_map(c, s[1].map, mpath, &s[1].map);
    if (st == GM_OK) st = gm_cfg_train(c, s, 2, out);
    if (st == GM_OK && out->steps == 0) {
        char hint[GM_CFG_PATH_MAX + 32];
        snprintf(hint, sizeof hint, "set train.steps or %s.steps", mpath);
        return gm_cfg_fail_missing(c, m, mpath, "steps", hint);
    }
    if (st == GM_OK) st = batch_fits(c, root, s, path, e, out->batch_size);
    return st;
}

gm_status gm_cfg_models(const gm_cfg *c, const gm_ynode *root,
                        gm_experiment *e) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *ms;
    gm_status st =
        gm_cfg_require(c, root, root, "", "models", path, sizeof path, &ms);
    if (st != GM_OK) return st;
    if (ms->kind != GM_YMAP)
        return gm_cfg_fail_type(c, ms, path, "a mapping of model names");
    if (gm_ymap_len(ms) == 0)
        return gm_cfg_fail(c, ms, path, "at least one model is required");
    if (gm_ymap_len(ms) > GM_CFG_MODELS_MAX)
        return gm_cfg_fail(c, ms, path, "%d models: at most %d are allowed",
                           gm_ymap_len(ms), GM_CFG_MODELS_MAX);
    e->models = calloc((size_t)gm_ymap_len(ms), sizeof *e->models);
    if (!e->models)
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory for models");
    for (int k = 0; k < gm_ymap_len(ms); k++) {
        int i = e->n_models;
        gm_model_spec *spec = &e->models[i];
        const gm_ynode *m = gm_ymap_val(ms, k);
        const gm_cfg_sweep_point *point =
            c->sweep && k < c->sweep->n_points ? &c->sweep->points[k] : NULL;
        if (point && point->n > 0) {
            /* A sweep point: the expansion checked and made its name. */
            snprintf(spec->name, sizeof spec->name, "%s",
                     gm_ymap_key(ms, k)->text);
            memcpy(spec->sweep, point->value,
                   (size_t)point->n * sizeof *point->value);
            spec->n_sweep = point->n;
        } else {
            st = gm_cfg_name(c, gm_ymap_key(ms, k), "models", spec->name,
                             sizeof spec->name);
        }
        if (st != GM_OK) return st;
        if (c->only_model && strcmp(spec->name, c->only_model) != 0) {
            memset(spec, 0, sizeof *spec);
            continue;
        }
        e->n_models++;
        char mpath[GM_CFG_PATH_MAX];
        gm_cfg_path_join(mpath, sizeof mpath, "models", spec->name);
        if (m->kind != GM_YMAP)
            return gm_cfg_fail_type(c, m, mpath, "a mapping");
        const gm_objective_schema *schema;
        st = model(c, m, mpath, spec, &schema);
        if (st == GM_OK)
            st = model_train(c, root, m, mpath, e, &spec->train);
        if (st == GM_OK)
            st = gm_cfg_model_sizes(c, root, m, mpath, schema, e, i);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}
