/* A network given as a list of layers, each a PyTorch module's name with
 * its arguments:
 *   layers:
 *     - {reshape: [1, 28, 28]}
 *     - {conv2d: {out: 64, kernel: 4, stride: 2, padding: 1}}
 *     - {leaky_relu: {slope: 0.2}}
 *     - flatten
 *     - {linear: {out: 1}}
 * A layer without arguments may be written as its bare name. The names
 * and each kind's arguments are rows of the table of layer kinds
 * (nn/layer_kinds.c). Shapes are checked with the model's sizes
 * (config_sizes.c), where the network's input and output widths are
 * known. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "nn/layer_kinds.h"

/* One argument, as its row in the table of layer kinds describes it;
 * a missing required one is reported at `at` (the layer). */
static gm_status layer_arg(const gm_cfg *c, const gm_ynode *args,
                           const gm_ynode *at, const char *path,
                           const gm_layer_arg *a, gm_layer_spec *out) {
    char p[GM_CFG_PATH_MAX];
    const gm_ynode *v = NULL;
    if (a->required) {
        gm_status st = gm_cfg_require(c, args, args ? args : at, path, a->key,
                                      p, sizeof p, &v);
        if (st != GM_OK) return st;
    } else {
        v = gm_cfg_get(args, path, a->key, p, sizeof p);
    }
    void *field = (char *)out + a->field;
    gm_cfg_range r = {a->lo, a->hi, a->lo_open, false};
    switch (a->type) {
    case GM_LAYER_ARG_INT:
        *(int *)field = (int)a->preset;
        return v ? gm_cfg_int(c, v, p, r, field) : GM_OK;
    case GM_LAYER_ARG_FLOAT:
        *(float *)field = (float)a->preset;
        return v ? gm_cfg_float(c, v, p, r, field) : GM_OK;
    case GM_LAYER_ARG_BIAS: {
        bool bias = true;
        gm_status st = v ? gm_cfg_bool(c, v, p, &bias) : GM_OK;
        *(bool *)field = !bias;
        return st;
    }
    }
    return gm_cfg_fail(c, v, p, "layer argument of unknown type %d",
                       (int)a->type);
}

static gm_status shape_arg(const gm_cfg *c, const gm_ynode *v, const char *path,
                           gm_layer_spec *out) {
    if (v->kind != GM_YSEQ || (v->n != 1 && v->n != 3))
        return gm_cfg_fail_type(c, v, path,
                                "a shape per sample, [features] or "
                                "[channels, height, width]");
    out->ndim = v->n;
    for (int i = 0; i < v->n; i++) {
        char item[GM_CFG_PATH_MAX + 16];
        snprintf(item, sizeof item, "%s[%d]", path, i);
        gm_status st = gm_cfg_int(
            c, v->child[i], item,
            (gm_cfg_range){1, GM_LAYER_DIM_MAX, false, false}, &out->shape[i]);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

/* The arguments `args` (a mapping, or NULL for none) of the layer `at`,
 * of kind out->kind, at `path`. */
static gm_status layer_args(const gm_cfg *c, const gm_ynode *args,
                            const gm_ynode *at, const char *path,
                            gm_layer_spec *out) {
    const gm_layer_kind_desc *k = gm_layer_kind_desc_of(out->kind);
    const char *keys[GM_LAYER_ARGS_MAX];
    int n = 0;
    while (n < GM_LAYER_ARGS_MAX && k->args[n].key) {
        keys[n] = k->args[n].key;
        n++;
    }
    char hint[96];
    snprintf(hint, sizeof hint, "%s takes no arguments", k->name);
    int bad = args ? gm_cfg_unknown(args, keys, n) : -1;
    if (bad >= 0)
        return gm_cfg_fail_unknown(c, args, bad, path, keys, n,
                                   n ? NULL : hint);
    for (int i = 0; i < n; i++) {
        gm_status st = layer_arg(c, args, at, path, &k->args[i], out);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

static gm_status layer_kind(const gm_cfg *c, const gm_ynode *name,
                            const char *path, gm_layer_kind *out) {
    if (name->kind == GM_YSCALAR && gm_layer_kind_parse(name->text, out))
        return GM_OK;
    const char *names[GM_LAYER_KIND_COUNT];
    for (int i = 0; i < GM_LAYER_KIND_COUNT; i++)
        names[i] = gm_layer_kind_name((gm_layer_kind)i);
    int k = 0;
    return gm_cfg_choice(c, name, path, names, GM_LAYER_KIND_COUNT, &k);
}

/* One item: `relu`, or {conv2d: {...}}, or {reshape: [...]}. */
static gm_status layer(const gm_cfg *c, const gm_ynode *item, const char *path,
                       gm_layer_spec *out) {
    memset(out, 0, sizeof *out);
    if (item->kind == GM_YMAP && gm_ymap_len(item) != 1)
        return gm_cfg_fail(c, item, path,
                           "a layer is one name with its arguments, e.g. "
                           "{conv2d: {out: 64, kernel: 4}}; got %d keys",
                           gm_ymap_len(item));
    if (item->kind == GM_YSEQ)
        return gm_cfg_fail_type(c, item, path,
                                "a layer: a name or {name: arguments}");
    const gm_ynode *name = item->kind == GM_YMAP ? gm_ymap_key(item, 0) : item;
    gm_status st = layer_kind(c, name, path, &out->kind);
    if (st != GM_OK) return st;
    char p[GM_CFG_PATH_MAX];
    gm_cfg_path_join(p, sizeof p, path, gm_layer_kind_name(out->kind));
    const gm_ynode *args = item->kind == GM_YMAP ? gm_ymap_val(item, 0) : NULL;
    if (args && gm_ynode_is_null(args)) args = NULL;
    if (gm_layer_kind_desc_of(out->kind)->takes_shape)
        return shape_arg(c, args ? args : item, p, out);
    st = gm_cfg_map(c, args, p, &args);
    return st == GM_OK ? layer_args(c, args, item, p, out) : st;
}

gm_status gm_cfg_layers(const gm_cfg *c, const gm_ynode *v, const char *path,
                        gm_net_spec *out) {
    if (v->kind != GM_YSEQ)
        return gm_cfg_fail_type(c, v, path, "a list of layers");
    if (v->n < 1 || v->n > GM_NET_MAX_LAYERS)
        return gm_cfg_fail(c, v, path, "1 to %d layers, got %d",
                           GM_NET_MAX_LAYERS, v->n);
    out->n_layers = v->n;
    for (int i = 0; i < v->n; i++) {
        char item[GM_CFG_PATH_MAX + 16];
        snprintf(item, sizeof item, "%s[%d]", path, i);
        gm_status st = layer(c, v->child[i], item, &out->layers[i]);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}
