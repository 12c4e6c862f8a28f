/* dataset: its kind, and the keys of that kind with their defaults. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "gm/data.h"

#define DATASET_MAX_KEYS 5

static const struct {
    const char *name;
    const char *keys[DATASET_MAX_KEYS]; /* "name" and the kind's own */
    int n_keys;
    int dim; /* of one data point; 0: as the file says */
} kinds[] = {
    {"ring", {"name", "modes", "radius", "std", "size"}, 5, 2},
    {"grid", {"name", "side", "spacing", "std", "size"}, 5, 2},
    {"fashion_mnist", {"name", "path"}, 2, 28 * 28},
    {"stacked_fashion_mnist", {"name", "path", "size", "seed"}, 4, 3 * 28 * 28},
    {"idx", {"name", "path", "test_path"}, 3, 0},
    {"hdf5", {"name", "path", "key"}, 3, 0},
};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };

static const char fashion_mnist_dir[] = "/usr/share/datasets/fashion-mnist";

/* The first kind other than `kind` that has `key`, or -1. */
static int kind_with_key(const char *key, int kind) {
    for (int k = 0; k < N_KINDS; k++)
        for (int j = 0; k != kind && j < kinds[k].n_keys; j++)
            if (strcmp(kinds[k].keys[j], key) == 0) return k;
    return -1;
}

int gm_cfg_dataset_dim(const gm_dataset_spec *spec) {
    for (int k = 0; k < N_KINDS; k++)
        if (strcmp(spec->name, kinds[k].name) == 0) return kinds[k].dim;
    return 0;
}

int gm_cfg_dataset_classes(const gm_dataset_spec *spec) {
    /* as data/mixture.c, fashion_mnist.c and stacked_fashion.c label them */
    if (strcmp(spec->name, "ring") == 0) return spec->modes;
    if (strcmp(spec->name, "grid") == 0) return spec->side * spec->side;
    if (strcmp(spec->name, "fashion_mnist") == 0) return 10;
    if (strcmp(spec->name, "stacked_fashion_mnist") == 0) return 1000;
    return 0;
}

long gm_cfg_dataset_rows(const gm_dataset_spec *spec) {
    /* as data/mixture.c and stacked_fashion.c make them */
    if (strcmp(spec->name, "ring") == 0 || strcmp(spec->name, "grid") == 0 ||
        strcmp(spec->name, "stacked_fashion_mnist") == 0)
        return spec->size;
    return 0;
}

bool gm_cfg_dataset_has_test_split(const gm_dataset_spec *spec) {
    return strcmp(spec->name, "ring") != 0 && strcmp(spec->name, "grid") != 0;
}

static gm_status check_keys(const gm_cfg *c, const gm_ynode *m, int kind) {
    int i = gm_cfg_unknown(m, kinds[kind].keys, kinds[kind].n_keys);
    if (i < 0) return GM_OK;
    const gm_ynode *key = gm_ymap_key(m, i);
    int other = kind_with_key(key->text, kind);
    if (other < 0)
        return gm_cfg_fail_unknown(c, m, i, "dataset", kinds[kind].keys,
                                   kinds[kind].n_keys, NULL);
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, "dataset", key->text);
    return gm_cfg_fail(c, key, path, "\"%s\" is a key of dataset %s, not of %s",
                       key->text, kinds[other].name, kinds[kind].name);
}

/* The ranges the mixtures' loader takes (data/mixture.c), checked here
 * too so that the message has the file position. */
#define RING_MODES ((gm_cfg_range){1, GM_MIXTURE_MODES_MAX, false, false})
#define GRID_SIDE ((gm_cfg_range){1, GM_GRID_SIDE_MAX, false, false})
#define MIXTURE_SIZE ((gm_cfg_range){1, INT_MAX, false, false})

static gm_status mixture(const gm_cfg *c, const gm_ynode *m,
                         gm_dataset_spec *out) {
    gm_status st = GM_OK;
    if (strcmp(out->name, "ring") == 0) {
        out->modes = 8;
        out->radius = 2.0;
        out->std = 0.02;
        st = gm_cfg_get_int(c, m, "dataset", "modes", RING_MODES, &out->modes);
        if (st == GM_OK)
            st = gm_cfg_get_number(c, m, "dataset", "radius", GM_CFG_POSITIVE,
                                   &out->radius);
    } else {
        out->side = 5;
        out->spacing = 2.0;
        out->std = 0.05;
        st = gm_cfg_get_int(c, m, "dataset", "side", GRID_SIDE, &out->side);
        if (st == GM_OK)
            st = gm_cfg_get_number(c, m, "dataset", "spacing", GM_CFG_POSITIVE,
                                   &out->spacing);
    }
    out->size = 100000;
    if (st == GM_OK)
        st = gm_cfg_get_number(c, m, "dataset", "std", GM_CFG_POSITIVE,
                               &out->std);
    if (st == GM_OK)
        st = gm_cfg_get_long(c, m, "dataset", "size", MIXTURE_SIZE, &out->size);
    return st;
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

/* Stacked images take memory: 9.4 KiB each. */
#define STACKED_SIZE ((gm_cfg_range){1, 1000000, false, false})

static gm_status files(const gm_cfg *c, const gm_ynode *m,
                       gm_dataset_spec *out) {
    bool stacked = strcmp(out->name, "stacked_fashion_mnist") == 0;
    if (stacked || strcmp(out->name, "fashion_mnist") == 0) {
        snprintf(out->path, sizeof out->path, "%s", fashion_mnist_dir);
        gm_status st = gm_cfg_get_string(c, m, "dataset", "path", out->path,
                                         sizeof out->path);
        out->size = 60000;
        out->seed = 1;
        if (st == GM_OK && stacked)
            st = gm_cfg_get_long(c, m, "dataset", "size", STACKED_SIZE,
                                 &out->size);
        if (st == GM_OK && stacked)
            st = gm_cfg_get_long(c, m, "dataset", "seed", GM_CFG_AT_LEAST(0),
                                 &out->seed);
        return st;
    }
    gm_status st = required_string(c, m, "path", out->path, sizeof out->path);
    if (st != GM_OK) return st;
    if (strcmp(out->name, "idx") == 0)
        return gm_cfg_get_string(c, m, "dataset", "test_path", out->test_path,
                                 sizeof out->test_path);
    return required_string(c, m, "key", out->key, sizeof out->key);
}

gm_status gm_cfg_dataset(const gm_cfg *c, const gm_ynode *v,
                         gm_dataset_spec *out) {
    if (v->kind != GM_YMAP)
        return gm_cfg_fail_type(c, v, "dataset", "a mapping");
    const char *names[N_KINDS];
    for (int k = 0; k < N_KINDS; k++)
        names[k] = kinds[k].name;
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *name;
    int kind = 0;
    gm_status st =
        gm_cfg_require(c, v, v, "dataset", "name", path, sizeof path, &name);
    if (st == GM_OK) st = gm_cfg_choice(c, name, path, names, N_KINDS, &kind);
    if (st == GM_OK) st = check_keys(c, v, kind);
    if (st != GM_OK) return st;
    snprintf(out->name, sizeof out->name, "%s", kinds[kind].name);
    if (strcmp(out->name, "ring") == 0 || strcmp(out->name, "grid") == 0)
        return mixture(c, v, out);
    return files(c, v, out);
}
