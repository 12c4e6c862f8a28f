/* train: steps, batch size, optimizer and precision, merged key by key
 * from the
 * global section and a model's own `train`. */
#include <stddef.h>

#include "config/config_internal.h"

/* A model's train over the global one. */
#define TRAIN_MAX_LAYERS 2

static const char *const train_keys[] = {"steps", "batch_size", "optimizer",
                                         "precision"};
#define N_TRAIN_KEYS (int)(sizeof train_keys / sizeof train_keys[0])
static const char *const optim_keys[] = {
    "name",     "lr",           "beta1",     "beta2", "eps",
    "momentum", "weight_decay", "clip_norm", "alpha"};
#define N_OPTIM_KEYS (int)(sizeof optim_keys / sizeof optim_keys[0])

/* The optimizer's float settings and what each must satisfy. */
static const struct {
    const char *key;
    size_t offset;
    gm_cfg_range range;
} optim_fields[] = {
    {"lr", offsetof(gm_optim_config, lr), GM_CFG_POSITIVE},
    {"beta1", offsetof(gm_optim_config, beta1), GM_CFG_UNIT_OPEN},
    {"beta2", offsetof(gm_optim_config, beta2), GM_CFG_UNIT_OPEN},
    {"eps", offsetof(gm_optim_config, eps), GM_CFG_POSITIVE},
    {"momentum", offsetof(gm_optim_config, momentum), GM_CFG_UNIT_OPEN},
    {"weight_decay", offsetof(gm_optim_config, weight_decay),
     GM_CFG_AT_LEAST(0)},
    {"clip_norm", offsetof(gm_optim_config, clip_norm), GM_CFG_AT_LEAST(0)},
    {"alpha", offsetof(gm_optim_config, alpha), GM_CFG_UNIT_OPEN},
};

/* Unspecified settings take gm_optim_defaults of the chosen kind, whichever
 * layer chose it. */
static gm_status optimizer(const gm_cfg *c, const gm_cfg_scope *s, int n,
                           gm_optim_config *out) {
    gm_status st =
        gm_cfg_check_keys(c, s[n - 1].map, s[n - 1].path, optim_keys,
                          N_OPTIM_KEYS);
    if (st != GM_OK) return st;
    const char *names[GM_OPTIM_KIND_COUNT];
    for (int k = 0; k < GM_OPTIM_KIND_COUNT; k++)
        names[k] = gm_optim_kind_name((gm_optim_kind)k);
    int kind = GM_OPTIM_ADAM;
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_scopes_get(s, n, "name", path, sizeof path);
    if (v) st = gm_cfg_choice(c, v, path, names, GM_OPTIM_KIND_COUNT, &kind);
    if (st != GM_OK) return st;
    *out = gm_optim_defaults((gm_optim_kind)kind);
    for (size_t f = 0; f < sizeof optim_fields / sizeof optim_fields[0]; f++) {
        v = gm_cfg_scopes_get(s, n, optim_fields[f].key, path, sizeof path);
        float *field = (float *)((char *)out + optim_fields[f].offset);
        if (v) st = gm_cfg_float(c, v, path, optim_fields[f].range, field);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

gm_status gm_cfg_train(const gm_cfg *c, const gm_cfg_scope *s, int n,
                       gm_train_spec *out) {
    GM_ASSERT(n >= 1 && n <= TRAIN_MAX_LAYERS);
    gm_status st =
        gm_cfg_check_keys(c, s[n - 1].map, s[n - 1].path, train_keys,
                          N_TRAIN_KEYS);
    if (st != GM_OK) return st;
    char path[GM_CFG_PATH_MAX];
    out->steps = 0;
    const gm_ynode *v = gm_cfg_scopes_get(s, n, "steps", path, sizeof path);
    if (v) st = gm_cfg_long(c, v, path, GM_CFG_AT_LEAST(1), &out->steps);
    if (st != GM_OK) return st;
    out->batch_size = 64;
    v = gm_cfg_scopes_get(s, n, "batch_size", path, sizeof path);
    if (v) st = gm_cfg_int(c, v, path, GM_CFG_AT_LEAST(1), &out->batch_size);
    if (st != GM_OK) return st;
    const char *precisions[GM_PRECISION_COUNT];
    for (int p = 0; p < GM_PRECISION_COUNT; p++)
        precisions[p] = gm_precision_name((gm_precision)p);
    int precision = GM_PRECISION_FP32;
    v = gm_cfg_scopes_get(s, n, "precision", path, sizeof path);
    if (v)
        st = gm_cfg_choice(c, v, path, precisions, GM_PRECISION_COUNT,
                           &precision);
    if (st != GM_OK) return st;
    out->precision = (gm_precision)precision;
    gm_cfg_scope opt[TRAIN_MAX_LAYERS];
    char opt_path[TRAIN_MAX_LAYERS][GM_CFG_PATH_MAX];
    for (int i = 0; i < n; i++) {
        v = gm_cfg_get(s[i].map, s[i].path, "optimizer", opt_path[i],
                       sizeof opt_path[i]);
        opt[i].path = opt_path[i];
        st = gm_cfg_map(c, v, opt_path[i], &opt[i].map);
        if (st != GM_OK) return st;
    }
    return optimizer(c, opt, n, &out->optimizer);
}
