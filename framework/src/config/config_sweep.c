/* sweep: a grid of values, expanded into one model per point.
 *
 *   sweep:
 *     models.vae.params.beta: [0.1, 1, 4]   that model only
 *     models.vae.latent_dim: [8, 32]        with the line above: 6 points
 *     train.optimizer.lr: [1.0e-3, 1.0e-4]  every model
 *
 * Each swept model is replaced, in its place, by a copy per point of the
 * cartesian product of its keys' lists (the first key varies slowest),
 * named after the values as written: "vae[beta=0.1,latent_dim=8]". The
 * copies then go through the validator like hand-written models, each
 * value keeping the position of its list item, so an error points at it.
 * The expansion is a pure function of the document: the run file stores
 * the document with its sweep block, and reading it again gives the same
 * models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/name_index.h"

static const char *const sweep_roots[] = {"models", "train"};

/* One key of the sweep block. */
typedef struct sweep_key {
    const gm_ynode *key;         /* its key node, for messages and positions */
    const gm_ynode *values;      /* its list */
    char path[GM_CFG_PATH_MAX];  /* "sweep.<key>", for messages */
    char model[GM_CFG_PATH_MAX]; /* "" for a train.* key: every model */
    char rel[GM_SWEEP_KEY_MAX];  /* the path inside the model */
    bool integer;                /* every value an integer */
} sweep_key;

/* A value's text may become part of a model name (and so of an HDF5
 * group name and a command-line argument). */
static bool name_safe(const char *s) {
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-";
    return s[0] && !s[strspn(s, ok)];
}

static bool component_ok(const char *s, size_t len) {
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr(ok, s[i])) return false;
    return true;
}

static gm_status check_values(const gm_cfg *c, sweep_key *k) {
    const gm_ynode *v = k->values;
    if (v->kind != GM_YSEQ)
        return gm_cfg_fail_type(c, v, k->path, "a non-empty list of values");
    if (v->n == 0)
        return gm_cfg_fail(c, v, k->path,
                           "empty list: a swept key needs at least one value");
    /* One key's values alone make that many models: refuse a list that
     * cannot fit before looking at its items. */
    if (v->n > GM_CFG_MODELS_MAX)
        return gm_cfg_fail(c, v, k->path,
                           "%d values: a sweep makes at most %d models; "
                           "sweep fewer values",
                           v->n, GM_CFG_MODELS_MAX);
    k->integer = true;
    gm_name_index seen = {0};
    gm_status st = GM_OK;
    for (int i = 0; i < v->n && st == GM_OK; i++) {
        const gm_ynode *x = v->child[i];
        char item[GM_CFG_PATH_MAX + 16];
        snprintf(item, sizeof item, "%s[%d]", k->path, i);
        if (x->kind != GM_YSCALAR || gm_ynode_is_null(x)) {
            st = gm_cfg_fail_type(c, x, item,
                                  "a number, a string or true/false (lists "
                                  "and mappings cannot be swept)");
            break;
        }
        if (!name_safe(x->text) || strlen(x->text) >= GM_SWEEP_TEXT_MAX) {
            st = gm_cfg_fail(c, x, item,
                             "\"%.*s\" cannot be part of a model name: a "
                             "swept value has at most %d letters, digits, "
                             "'_', '.', '+' or '-'",
                             GM_SWEEP_TEXT_MAX, x->text,
                             GM_SWEEP_TEXT_MAX - 1);
            break;
        }
        bool integer = false;
        k->integer = k->integer && gm_cfg_is_number(x, &integer) && integer;
        int first = gm_name_index_add(&seen, v, x->text, i);
        if (first == GM_NAME_NOMEM)
            st = gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
        else if (first >= 0)
            st = gm_cfg_fail(c, x, item, "duplicate value %s (also [%d])",
                             x->text, first);
    }
    gm_name_index_clear(&seen);
    return st;
}

/* Splits a key of the sweep block into the model it names (if any) and
 * the path inside the model, and checks both. */
static gm_status parse_key(const gm_cfg *c, const gm_ynode *models,
                           sweep_key *k) {
    const char *text = k->key->text;
    for (const char *s = text, *dot;; s = dot + 1) {
        dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (!component_ok(s, len))
            return gm_cfg_fail(c, k->key, k->path,
                               "bad key path: expected models.<name>.<key> "
                               "or train.<key>, each part letters, digits, "
                               "'_' or '-'");
        if (!dot) break;
    }
    const char *dot = strchr(text, '.');
    size_t root_len = dot ? (size_t)(dot - text) : strlen(text);
    char root[GM_CFG_PATH_MAX];
    snprintf(root, sizeof root, "%.*s", (int)root_len, text);
    if (strcmp(root, "train") == 0 && dot) {
        snprintf(k->rel, sizeof k->rel, "%s", text);
        return strlen(text) < sizeof k->rel
                   ? GM_OK
                   : gm_cfg_fail(c, k->key, k->path, "key path too long");
    }
    if (strcmp(root, "models") != 0) {
        const char *close = gm_cfg_suggest(root, sweep_roots, 2);
        if (close && strcmp(close, root) != 0)
            return gm_cfg_fail(c, k->key, k->path,
                               "unknown section \"%s\", did you mean "
                               "\"%s\"?",
                               root, close);
        return gm_cfg_fail(c, k->key, k->path,
                           "only models.<name>.<key> (one model) and "
                           "train.<key> (every model) can be swept; the other "
                           "sections are shared by every model: write one "
                           "experiment file per value");
    }
    const char *name = dot ? dot + 1 : "";
    const char *rest = strchr(name, '.');
    if (!dot || !rest)
        return gm_cfg_fail(c, k->key, k->path,
                           "expected models.<name>.<key>, e.g. "
                           "models.vae.params.beta");
    snprintf(k->model, sizeof k->model, "%.*s", (int)(rest - name), name);
    snprintf(k->rel, sizeof k->rel, "%s", rest + 1);
    if (strlen(rest + 1) >= sizeof k->rel)
        return gm_cfg_fail(c, k->key, k->path, "key path too long");
    if (gm_ymap_find(models, k->model) >= 0) return GM_OK;
    const char *names[64];
    int n = 0;
    for (int i = 0; i < gm_ymap_len(models) && n < 64; i++)
        names[n++] = gm_ymap_key(models, i)->text;
    const char *close = gm_cfg_suggest(k->model, names, n);
    if (close)
        return gm_cfg_fail(c, k->key, k->path,
                           "no model \"%s\" to sweep, did you mean \"%s\"?",
                           k->model, close);
    return gm_cfg_fail(c, k->key, k->path, "no model \"%s\" to sweep",
                       k->model);
}

/* The mapping at key `seg` of m, made (or replacing a null) if needed;
 * an error if a value that is not a mapping is in the way. */
static gm_status descend(const gm_cfg *c, const sweep_key *k, gm_ynode *m,
                         const char *seg, gm_ynode **out) {
    int i = gm_ymap_find(m, seg);
    gm_ynode *v = i >= 0 ? gm_ymap_val(m, i) : NULL;
    if (v && v->kind == GM_YMAP) {
        *out = v;
        return GM_OK;
    }
    if (v && !gm_ynode_is_null(v))
        return gm_cfg_fail(c, k->key, k->path,
                           "%s in the model is a %s, not a mapping; cannot "
                           "sweep a key inside it",
                           seg, v->kind == GM_YSEQ ? "list" : "scalar");
    gm_ynode *map =
        gm_ynode_new(GM_YMAP, k->key->line, k->key->col, k->key->set);
    if (!map) return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    if (v) {
        gm_ynode_free(v);
        m->child[2 * i + 1] = map;
    } else {
        gm_ynode *key =
            gm_ynode_new(GM_YSCALAR, k->key->line, k->key->col, k->key->set);
        if (key) key->plain = true;
        if (!key || !(key->text = strdup(seg)) || !gm_ynode_append(m, key)) {
            gm_ynode_free(key);
            gm_ynode_free(map);
            return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
        }
        if (!gm_ynode_append(m, map)) {
            m->n--;
            gm_ynode_free(key);
            gm_ynode_free(map);
            return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
        }
    }
    *out = map;
    return GM_OK;
}

/* Sets the key path k->rel of the model mapping m to a copy of `value`,
 * replacing what the model had there. */
static gm_status graft(const gm_cfg *c, const sweep_key *k, gm_ynode *m,
                       const gm_ynode *value) {
    char rel[GM_SWEEP_KEY_MAX];
    snprintf(rel, sizeof rel, "%s", k->rel);
    char *seg = rel;
    gm_status st = GM_OK;
    for (char *dot; st == GM_OK && (dot = strchr(seg, '.')); seg = dot + 1) {
        *dot = '\0';
        st = descend(c, k, m, seg, &m);
    }
    if (st != GM_OK) return st;
    gm_ynode *copy = gm_ynode_clone(value);
    if (!copy) return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    int i = gm_ymap_find(m, seg);
    if (i >= 0) {
        gm_ynode_free(gm_ymap_val(m, i));
        m->child[2 * i + 1] = copy;
        return GM_OK;
    }
    gm_ynode *key =
        gm_ynode_new(GM_YSCALAR, k->key->line, k->key->col, k->key->set);
    if (key) key->plain = true;
    if (!key || !(key->text = strdup(seg)) || !gm_ynode_append(m, key)) {
        gm_ynode_free(key);
        gm_ynode_free(copy);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    if (!gm_ynode_append(m, copy)) {
        m->n--;
        gm_ynode_free(key);
        gm_ynode_free(copy);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    return GM_OK;
}

/* The last components of `path`, at most n of them. */
static const char *suffix(const char *path, int n) {
    const char *s = path + strlen(path);
    for (int seen = 0; s > path; s--)
        if (s[-1] == '.' && ++seen == n) break;
    return s;
}

/* The shortest tail of keys[i]->rel that no other key of the model ends
 * with: "beta" for params.beta, "encoder.hidden" beside decoder.hidden. */
static const char *short_name(sweep_key *const *keys, int n, int i) {
    for (int parts = 1;; parts++) {
        const char *mine = suffix(keys[i]->rel, parts);
        bool unique = true;
        for (int j = 0; j < n && unique; j++)
            unique = j == i || strcmp(suffix(keys[j]->rel, parts), mine) != 0;
        if (unique || mine == keys[i]->rel) return mine;
    }
}

/* The name of a point: "vae[beta=4,latent_dim=8]". */
static gm_status point_name(const gm_cfg *c, const gm_ynode *model_key,
                            sweep_key *const *keys, int n, const int *at,
                            char *out, size_t cap) {
    size_t len = (size_t)snprintf(out, cap, "%s[", model_key->text);
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? "," : "",
                                short_name(keys, n, i),
                                keys[i]->values->child[at[i]]->text);
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, "]");
    if (len < cap) return GM_OK;
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, "models", model_key->text);
    return gm_cfg_fail(c, model_key, path,
                       "the names of this model's sweep points would be "
                       "longer than %zu characters; sweep fewer keys or "
                       "shorten the model's name",
                       cap - 1);
}

static void record(gm_cfg_sweep_point *p, sweep_key *const *keys, int n,
                   const int *at) {
    p->n = n;
    for (int i = 0; i < n; i++) {
        const gm_ynode *x = keys[i]->values->child[at[i]];
        gm_sweep_value *v = &p->value[i];
        snprintf(v->key, sizeof v->key, "%s", keys[i]->rel);
        snprintf(v->text, sizeof v->text, "%s", x->text);
        bool integer;
        v->is_number =
            gm_cfg_is_number(x, &integer) && isfinite(strtod(x->text, NULL));
        v->is_integer = keys[i]->integer;
        v->number = v->is_number ? strtod(x->text, NULL) : 0.0;
    }
}

/* The expanded document being built. */
typedef struct expansion {
    gm_ynode *models; /* the new models mapping */
    gm_cfg_sweep *sweep;
    int cap_points;
} expansion;

/* Appends one model (taking key and value) and its point: the values
 * at[0..n) of keys[0..n) (n = 0: a model not swept). The names are
 * distinct: the values of a key are (check_values), and the short names
 * of a model's keys are. */
static gm_status add_model(const gm_cfg *c, expansion *x, gm_ynode *key,
                           gm_ynode *value, sweep_key *const *keys, int n,
                           const int *at) {
    gm_cfg_sweep *s = x->sweep;
    if (s->n_points == x->cap_points) {
        int cap = x->cap_points ? 2 * x->cap_points : 16;
        gm_cfg_sweep_point *p = realloc(s->points, (size_t)cap * sizeof *p);
        if (!p) {
            gm_ynode_free(key);
            gm_ynode_free(value);
            return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
        }
        s->points = p;
        x->cap_points = cap;
    }
    if (!gm_ynode_append(x->models, key)) {
        gm_ynode_free(key);
        gm_ynode_free(value);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    if (!gm_ynode_append(x->models, value)) {
        x->models->n--;
        gm_ynode_free(key);
        gm_ynode_free(value);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    gm_cfg_sweep_point *p = &s->points[s->n_points++];
    memset(p, 0, sizeof *p);
    if (n > 0) record(p, keys, n, at);
    return GM_OK;
}

/* Appends the point `at` of the grid of keys[0..n): a copy of the model
 * named `name` with the point's values grafted in. */
static gm_status add_point(const gm_cfg *c, expansion *x, const gm_ynode *key,
                           const gm_ynode *model, const char *name,
                           sweep_key *const *keys, int n, const int *at) {
    gm_ynode *k = gm_ynode_clone(key);
    gm_ynode *m = k ? gm_ynode_clone(model) : NULL;
    char *text = m ? strdup(name) : NULL;
    if (!text) {
        gm_ynode_free(k);
        gm_ynode_free(m);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    free(k->text);
    k->text = text;
    gm_status st = GM_OK;
    for (int i = 0; i < n && st == GM_OK; i++)
        st = graft(c, keys[i], m, keys[i]->values->child[at[i]]);
    if (st == GM_OK) return add_model(c, x, k, m, keys, n, at);
    gm_ynode_free(k);
    gm_ynode_free(m);
    return st;
}

/* One model: as it is, or one copy per point of its keys' grid; `later`
 * models follow it. */
static gm_status expand_model(const gm_cfg *c, expansion *x,
                              const gm_ynode *key, const gm_ynode *model,
                              sweep_key *all, int n_all, int later) {
    sweep_key *keys[GM_SWEEP_MAX_KEYS];
    int n = 0;
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, "models", key->text);
    for (int i = 0; i < n_all; i++) {
        if (all[i].model[0] && strcmp(all[i].model, key->text) != 0) continue;
        for (int j = 0; j < n; j++)
            if (strcmp(keys[j]->rel, all[i].rel) == 0)
                return gm_cfg_fail(c, all[i].key, all[i].path,
                                   "sweeps %s.%s, which %s sweeps too", path,
                                   all[i].rel, keys[j]->path);
        if (n == GM_SWEEP_MAX_KEYS)
            return gm_cfg_fail(c, all[i].key, all[i].path,
                               "at most %d keys can be swept in one model",
                               GM_SWEEP_MAX_KEYS);
        keys[n++] = &all[i];
    }
    if (n == 0) {
        gm_ynode *k = gm_ynode_clone(key), *m = k ? gm_ynode_clone(model) : 0;
        if (m) return add_model(c, x, k, m, NULL, 0, NULL);
        gm_ynode_free(k);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    char base[GM_MODEL_NAME_MAX];
    gm_status st = gm_cfg_name(c, key, "models", base, sizeof base);
    if (st != GM_OK) return st;
    if (model->kind != GM_YMAP)
        return gm_cfg_fail_type(c, model, path, "a mapping");
    long points = 1;
    for (int i = 0; i < n && points <= GM_CFG_MODELS_MAX; i++)
        points *= keys[i]->values->n;
    long models = x->sweep->n_points + points + later;
    if (models > GM_CFG_MODELS_MAX)
        return gm_cfg_fail(c, key, path,
                           "the sweep makes more than %d models (this one "
                           "alone %s%ld); sweep fewer values",
                           GM_CFG_MODELS_MAX,
                           points > GM_CFG_MODELS_MAX ? "at least " : "",
                           points);
    int at[GM_SWEEP_MAX_KEYS] = {0};
    for (long p = 0; p < points && st == GM_OK; p++) {
        char name[GM_MODEL_NAME_MAX];
        st = point_name(c, key, keys, n, at, name, sizeof name);
        if (st == GM_OK) st = add_point(c, x, key, model, name, keys, n, at);
        /* The next point: the last key varies fastest. */
        for (int i = n - 1; i >= 0 && ++at[i] == keys[i]->values->n; i--)
            at[i] = 0;
    }
    return st;
}

/* The sweep block's keys, each checked. */
static gm_status read_keys(const gm_cfg *c, const gm_ynode *block,
                           const gm_ynode *models, sweep_key *keys) {
    for (int i = 0; i < gm_ymap_len(block); i++) {
        sweep_key *k = &keys[i];
        k->key = gm_ymap_key(block, i);
        k->values = gm_ymap_val(block, i);
        gm_cfg_path_join(k->path, sizeof k->path, "sweep", k->key->text);
        gm_status st = parse_key(c, models, k);
        if (st == GM_OK) st = check_values(c, k);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

gm_status gm_cfg_sweep_expand(const gm_cfg *c, const gm_ynode *root,
                              gm_ynode **out, gm_cfg_sweep *sweep) {
    *out = NULL;
    memset(sweep, 0, sizeof *sweep);
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *block = gm_cfg_get(root, "", "sweep", path, sizeof path);
    gm_status st = gm_cfg_map(c, block, path, &block);
    if (st != GM_OK || !block || gm_ymap_len(block) == 0) return st;
    int at = gm_ymap_find(root, "models");
    const gm_ynode *models = at >= 0 ? gm_ymap_val(root, at) : NULL;
    if (!models || models->kind != GM_YMAP ||
        gm_ymap_len(models) > GM_CFG_MODELS_MAX)
        return GM_OK; /* the validator says what is wrong with models */
    /* Each key sweeps at least one model: more than that many keys over
     * all the models leave some model with too many, and would cost
     * keys x models to find it. */
    if (gm_ymap_len(block) > GM_SWEEP_MAX_KEYS * gm_ymap_len(models))
        return gm_cfg_fail(c, block, path,
                           "%d keys for %d model%s: at most %d keys can be "
                           "swept in one model",
                           gm_ymap_len(block), gm_ymap_len(models),
                           gm_ymap_len(models) == 1 ? "" : "s",
                           GM_SWEEP_MAX_KEYS);
    sweep_key *keys = calloc((size_t)gm_ymap_len(block), sizeof *keys);
    gm_ynode *copy = keys ? gm_ynode_clone(root) : NULL;
    gm_ynode *expanded =
        copy ? gm_ynode_new(GM_YMAP, models->line, models->col, models->set)
             : NULL;
    if (!expanded) {
        free(keys);
        gm_ynode_free(copy);
        return gm_error_set(c->err, GM_ERR_NOMEM, "out of memory");
    }
    expanded->style = models->style;
    expansion x = {.models = expanded, .sweep = sweep};
    st = read_keys(c, block, models, keys);
    for (int i = 0; st == GM_OK && i < gm_ymap_len(models); i++)
        st =
            expand_model(c, &x, gm_ymap_key(models, i), gm_ymap_val(models, i),
                         keys, gm_ymap_len(block), gm_ymap_len(models) - 1 - i);
    free(keys);
    if (st != GM_OK) {
        gm_ynode_free(expanded);
        gm_ynode_free(copy);
        gm_cfg_sweep_clear(sweep);
        return st;
    }
    gm_ynode_free(copy->child[2 * at + 1]);
    copy->child[2 * at + 1] = expanded;
    *out = copy;
    return GM_OK;
}

void gm_cfg_sweep_clear(gm_cfg_sweep *sweep) {
    free(sweep->points);
    memset(sweep, 0, sizeof *sweep);
}
