/* dataset: its kind, and the keys of that kind with their defaults and
 * ranges, as the table of kinds (data/dataset_kinds.c) gives them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "data/dataset_kinds.h"

/* "name" and the keys of `kind`, into out; returns their number. */
static int key_names(const gm_dataset_kind_row *kind,
                     const char *out[GM_DATASET_KEYS_MAX + 1]) {
    out[0] = "name";
    for (int j = 0; j < kind->n_keys; j++)
        out[j + 1] = kind->keys[j].name;
    return kind->n_keys + 1;
}

/* The first kind other than `kind` that has `key`, or NULL. */
static const gm_dataset_kind_row *kind_with_key(
    const char *key, const gm_dataset_kind_row *kind) {
    const gm_dataset_kind_row *other;
    for (int k = 0; (other = gm_dataset_kind_row_at(k)); k++)
        for (int j = 0; other != kind && j < other->n_keys; j++)
            if (strcmp(other->keys[j].name, key) == 0) return other;
    return NULL;
}

int gm_cfg_dataset_dim(const gm_dataset_spec *spec) {
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    return kind ? kind->dim : 0;
}

int gm_cfg_dataset_classes(const gm_dataset_spec *spec) {
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    return kind && kind->classes ? kind->classes(spec) : 0;
}

long gm_cfg_dataset_rows(const gm_dataset_spec *spec) {
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    return kind && kind->rows ? kind->rows(spec) : 0;
}

bool gm_cfg_dataset_has_test_split(const gm_dataset_spec *spec) {
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    return !kind || kind->has_test_split;
}

static gm_status check_keys(const gm_cfg *c, const gm_ynode *m,
                            const gm_dataset_kind_row *kind) {
    const char *known[GM_DATASET_KEYS_MAX + 1];
    int n = key_names(kind, known);
    int i = gm_cfg_unknown(m, known, n);
    if (i < 0) return GM_OK;
    const gm_ynode *key = gm_ymap_key(m, i);
    const gm_dataset_kind_row *other = kind_with_key(key->text, kind);
    if (!other)
        return gm_cfg_fail_unknown(c, m, i, "dataset", known, n, NULL);
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, "dataset", key->text);
    return gm_cfg_fail(c, key, path, "\"%s\" is a key of dataset %s, not of %s",
                       key->text, other->info.name, kind->info.name);
}

/* The required string `key` of m. */
static gm_status required_string(const gm_cfg *c, const gm_ynode *m,
                                 const char *key, char *out, size_t cap) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v;
    gm_status st =
        gm_cfg_require(c, m, m, "dataset", key, path, sizeof path, &v);
    return st == GM_OK ? gm_cfg_string(c, v, path, out, cap) : st;
}

/* Reads key k of m into its field of out, which holds its default. */
static gm_status read_key(const gm_cfg *c, const gm_ynode *m,
                          const gm_dataset_key *k, gm_dataset_spec *out) {
    void *field = (char *)out + k->offset;
    gm_cfg_range range = {k->lo, k->hi, k->lo_open, false};
    switch (k->type) {
    case GM_DATASET_KEY_INT:
        return gm_cfg_get_int(c, m, "dataset", k->name, range, field);
    case GM_DATASET_KEY_LONG:
        return gm_cfg_get_long(c, m, "dataset", k->name, range, field);
    case GM_DATASET_KEY_NUMBER:
        return gm_cfg_get_number(c, m, "dataset", k->name, range, field);
    case GM_DATASET_KEY_STRING:
        return k->required
                   ? required_string(c, m, k->name, field, k->size)
                   : gm_cfg_get_string(c, m, "dataset", k->name, field,
                                       k->size);
    }
    return GM_ERR_INVALID;
}

gm_status gm_cfg_dataset(const gm_cfg *c, const gm_ynode *v,
                         gm_dataset_spec *out) {
    if (v->kind != GM_YMAP)
        return gm_cfg_fail_type(c, v, "dataset", "a mapping");
    const char *names[GM_DATASET_KINDS_MAX];
    int n_kinds = 0;
    for (; gm_dataset_kind_at(n_kinds); n_kinds++)
        names[n_kinds] = gm_dataset_kind_at(n_kinds)->name;
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *name;
    int k = 0;
    gm_status st =
        gm_cfg_require(c, v, v, "dataset", "name", path, sizeof path, &name);
    if (st == GM_OK) st = gm_cfg_choice(c, name, path, names, n_kinds, &k);
    const gm_dataset_kind_row *kind = gm_dataset_kind_row_at(k);
    if (st == GM_OK) st = check_keys(c, v, kind);
    if (st != GM_OK) return st;
    *out = kind->defaults;
    snprintf(out->name, sizeof out->name, "%s", kind->info.name);
    for (int j = 0; st == GM_OK && j < kind->n_keys; j++)
        st = read_key(c, v, &kind->keys[j], out);
    return st;
}

/* One file path of the dataset: made absolute (from the experiment
 * file's directory, or the current one for a --set), then checked. */
static gm_status resolve_path(const gm_cfg *c, gm_ynode *v, const char *key,
                              bool *changed) {
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, "dataset", key);
    if (v->kind != GM_YSCALAR || !v->text[0]) return GM_OK; /* checked later */
    char cwd[PATH_MAX], joined[2 * PATH_MAX];
    const char *base = v->set ? getcwd(cwd, sizeof cwd) : c->base_dir;
    bool relative = v->text[0] != '/' && base;
    if (relative)
        snprintf(joined, sizeof joined, "%s%s%s", base,
                 strcmp(base, "/") ? "/" : "", v->text);
    else
        snprintf(joined, sizeof joined, "%s", v->text);
    if (access(joined, F_OK) != 0) {
        char note[PATH_MAX + 80] = "";
        if (relative && !v->set)
            snprintf(note, sizeof note,
                     " (a relative path is read from the experiment file's "
                     "directory, %s)",
                     base);
        return gm_cfg_fail(c, v, path, "%s: %s%s", joined, strerror(errno),
                           note);
    }
    if (!relative) return GM_OK;
    if (strlen(joined) >= GM_PATH_MAX)
        return gm_cfg_fail(c, v, path, "%s: longer than %d characters", joined,
                           GM_PATH_MAX - 1);
    char *text = strdup(joined);
    if (!text)
        return gm_error_set(c->err, GM_ERR_NOMEM, "%s: out of memory",
                            c->source);
    free(v->text);
    v->text = text;
    *changed = true;
    return GM_OK;
}

gm_status gm_cfg_dataset_paths(const gm_cfg *c, gm_ynode *root, bool *changed) {
    *changed = false;
    int at = root->kind == GM_YMAP ? gm_ymap_find(root, "dataset") : -1;
    gm_ynode *ds = at >= 0 ? gm_ymap_val(root, at) : NULL;
    int name_at = ds && ds->kind == GM_YMAP ? gm_ymap_find(ds, "name") : -1;
    const gm_ynode *name = name_at >= 0 ? gm_ymap_val(ds, name_at) : NULL;
    const gm_dataset_kind_row *kind =
        name && name->kind == GM_YSCALAR ? gm_dataset_kind_find(name->text)
                                         : NULL;
    gm_status st = GM_OK;
    for (int j = 0; kind && st == GM_OK && j < kind->n_keys; j++) {
        int i = kind->keys[j].is_file ? gm_ymap_find(ds, kind->keys[j].name)
                                      : -1;
        if (i >= 0)
            st = resolve_path(c, gm_ymap_val(ds, i), kind->keys[j].name,
                              changed);
    }
    return st;
}
