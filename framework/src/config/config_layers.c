/* A network given as a list of layers, each a PyTorch module's name with
 * its arguments:
 *   layers:
 *     - {reshape: [1, 28, 28]}
 *     - {conv2d: {out: 64, kernel: 4, stride: 2, padding: 1}}
 *     - {leaky_relu: {slope: 0.2}}
 *     - flatten
 *     - {linear: {out: 1}}
 * A layer without arguments may be written as its bare name. Shapes are
 * checked with the model's sizes (config_sizes.c), where the network's
 * input and output widths are known. */
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* The arguments each kind takes, by gm_layer_kind. */
static const char *const linear_keys[] = {"out", "bias"};
static const char *const conv_keys[] = {"out", "kernel", "stride", "padding",
                                        "bias"};
static const char *const batch_norm_keys[] = {"momentum", "eps"};
static const char *const leaky_relu_keys[] = {"slope"};

typedef struct kind_keys {
    const char *const *keys;
    int n;
} kind_keys;

static kind_keys keys_of(gm_layer_kind kind) {
    switch (kind) {
    case GM_LAYER_LINEAR: return (kind_keys){linear_keys, 2};
    case GM_LAYER_CONV2D:
    case GM_LAYER_CONV_TRANSPOSE2D: return (kind_keys){conv_keys, 5};
    case GM_LAYER_BATCH_NORM: return (kind_keys){batch_norm_keys, 2};
    case GM_LAYER_LEAKY_RELU: return (kind_keys){leaky_relu_keys, 1};
    default: return (kind_keys){NULL, 0};
    }
}

#define DIM_MAX (1 << 24) /* a layer's width, channels or image side */
#define KERNEL_MAX 64

static gm_status bias_flag(const gm_cfg *c, const gm_ynode *args,
                           const char *path, gm_layer_spec *out) {
    char p[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(args, path, "bias", p, sizeof p);
    bool bias = true;
    gm_status st = v ? gm_cfg_bool(c, v, p, &bias) : GM_OK;
    out->no_bias = !bias;
    return st;
}

static gm_status conv_args(const gm_cfg *c, const gm_ynode *args,
                           const char *path, gm_layer_spec *out) {
    char p[GM_CFG_PATH_MAX];
    const gm_ynode *v;
    gm_status st = gm_cfg_require(c, args, args, path, "out", p, sizeof p, &v);
    if (st == GM_OK)
        st = gm_cfg_int(c, v, p, (gm_cfg_range){1, DIM_MAX, false, false},
                        &out->out);
    if (st == GM_OK)
        st = gm_cfg_require(c, args, args, path, "kernel", p, sizeof p, &v);
    if (st == GM_OK)
        st = gm_cfg_int(c, v, p, (gm_cfg_range){1, KERNEL_MAX, false, false},
                        &out->kernel);
    out->stride = 1;
    if (st == GM_OK)
        st = gm_cfg_get_int(c, args, path, "stride",
                            (gm_cfg_range){1, KERNEL_MAX, false, false},
                            &out->stride);
    if (st == GM_OK)
        st = gm_cfg_get_int(c, args, path, "padding",
                            (gm_cfg_range){0, KERNEL_MAX, false, false},
                            &out->padding);
    return st == GM_OK ? bias_flag(c, args, path, out) : st;
}

static gm_status reshape_args(const gm_cfg *c, const gm_ynode *v,
                              const char *path, gm_layer_spec *out) {
    if (v->kind != GM_YSEQ || (v->n != 1 && v->n != 3))
        return gm_cfg_fail_type(c, v, path,
                                "a shape per sample, [features] or "
                                "[channels, height, width]");
    out->ndim = v->n;
    for (int i = 0; i < v->n; i++) {
        char item[GM_CFG_PATH_MAX + 16];
        snprintf(item, sizeof item, "%s[%d]", path, i);
        gm_status st = gm_cfg_int(c, v->child[i], item,
                                  (gm_cfg_range){1, DIM_MAX, false, false},
                                  &out->shape[i]);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

/* The arguments `args` (a mapping, or NULL for none) of a layer of kind
 * out->kind at `path`. */
static gm_status layer_args(const gm_cfg *c, const gm_ynode *args,
                            const char *path, gm_layer_spec *out) {
    kind_keys k = keys_of(out->kind);
    char hint[96];
    snprintf(hint, sizeof hint, "%s takes no arguments",
             gm_layer_kind_name(out->kind));
    int bad = args ? gm_cfg_unknown(args, k.keys, k.n) : -1;
    if (bad >= 0)
        return gm_cfg_fail_unknown(c, args, bad, path, k.keys, k.n,
                                   k.n ? NULL : hint);
    switch (out->kind) {
    case GM_LAYER_LINEAR: {
        gm_status st =
            gm_cfg_get_int(c, args, path, "out",
                           (gm_cfg_range){1, DIM_MAX, false, false}, &out->out);
        return st == GM_OK ? bias_flag(c, args, path, out) : st;
    }
    case GM_LAYER_CONV2D:
    case GM_LAYER_CONV_TRANSPOSE2D: return conv_args(c, args, path, out);
    case GM_LAYER_BATCH_NORM: {
        gm_status st =
            gm_cfg_get_float(c, args, path, "momentum",
                             (gm_cfg_range){0, 1, true, false}, &out->momentum);
        return st == GM_OK ? gm_cfg_get_float(c, args, path, "eps",
                                              GM_CFG_POSITIVE, &out->eps)
                           : st;
    }
    case GM_LAYER_LEAKY_RELU:
        return gm_cfg_get_float(c, args, path, "slope", GM_CFG_POSITIVE,
                                &out->slope);
    default: return GM_OK;
    }
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
    if (out->kind == GM_LAYER_RESHAPE)
        return reshape_args(c, args ? args : item, p, out);
    st = gm_cfg_map(c, args, p, &args);
    return st == GM_OK ? layer_args(c, args, p, out) : st;
}

gm_status gm_cfg_layers(const gm_cfg *c, const gm_ynode *v, const char *path,
                        gm_mlp_spec *out) {
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
