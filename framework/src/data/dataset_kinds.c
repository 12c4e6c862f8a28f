/* The table of dataset kinds (dataset_kinds.h): one row per kind. */
#include "data/dataset_kinds.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"

/* A key is named after the gm_dataset_spec field it sets. */
#define FIELD(f)                                                               \
    .name = #f, .offset = offsetof(gm_dataset_spec, f),                        \
    .size = sizeof(((gm_dataset_spec *)0)->f)
#define INT(f, min, max) FIELD(f), .type = GM_DATASET_KEY_INT, .lo = min, .hi = max
#define LONG(f, min, max)                                                      \
    FIELD(f), .type = GM_DATASET_KEY_LONG, .lo = min, .hi = max
#define POSITIVE(f)                                                            \
    FIELD(f), .type = GM_DATASET_KEY_NUMBER, .lo = 0, .hi = INFINITY,          \
              .lo_open = true
#define STRING(f) FIELD(f), .type = GM_DATASET_KEY_STRING
#define FILE_PATH(f) STRING(f), .is_file = true
#define REQUIRED .required = true
#define IN_RUN_FILE .in_run_file = true

/* Stacked images take memory: 9.4 KiB each. */
#define STACKED_SIZE_MAX 1000000

/* fashion_mnist has no size or seed key, but its spec carries
 * stacked_fashion_mnist's defaults: a model's configuration text (and so
 * its digest, which resuming checks) records them. */
#define FASHION_DEFAULTS                                                       \
    {.path = GM_FASHION_MNIST_DIR, .size = 60000, .seed = 1}

enum {
    FASHION_PIXELS = GM_FASHION_SIDE * GM_FASHION_SIDE,
    STACKED_CLASSES =
        GM_FASHION_CLASSES * GM_FASHION_CLASSES * GM_FASHION_CLASSES,
};

/* How the loaders label the rows and how many they make. */
static int ring_classes(const gm_dataset_spec *s) { return s->modes; }
static int grid_classes(const gm_dataset_spec *s) { return s->side * s->side; }
static int fashion_classes(const gm_dataset_spec *s) {
    return GM_FASHION_CLASSES;
}
static int stacked_classes(const gm_dataset_spec *s) {
    return STACKED_CLASSES;
}
static long size_rows(const gm_dataset_spec *s) { return s->size; }

static const gm_dataset_kind_row kinds[] = {
    {.info = {"ring", "Gaussian mixture with modes on a circle (2-D)"},
     .keys = {{INT(modes, 1, GM_MIXTURE_MODES_MAX), IN_RUN_FILE},
              {POSITIVE(radius), IN_RUN_FILE},
              {POSITIVE(std)},
              {LONG(size, 1, INT_MAX)}},
     .n_keys = 4,
     .defaults = {.modes = 8, .radius = 2.0, .std = 0.02, .size = 100000},
     .dim = GM_MIXTURE_DIM,
     .classes = ring_classes,
     .rows = size_rows,
     .per_seed = true,
     .load = gm_data_ring_load},
    {.info = {"grid", "Gaussian mixture on a side x side grid (2-D)"},
     .keys = {{INT(side, 1, GM_GRID_SIDE_MAX), IN_RUN_FILE},
              {POSITIVE(spacing), IN_RUN_FILE},
              {POSITIVE(std)},
              {LONG(size, 1, INT_MAX)}},
     .n_keys = 4,
     .defaults = {.side = 5, .spacing = 2.0, .std = 0.05, .size = 100000},
     .dim = GM_MIXTURE_DIM,
     .classes = grid_classes,
     .rows = size_rows,
     .per_seed = true,
     .load = gm_data_grid_load},
    {.info = {"fashion_mnist",
              "Zalando's Fashion-MNIST, 28x28 pixels in [0, 1]"},
     .keys = {{FILE_PATH(path), IN_RUN_FILE}},
     .n_keys = 1,
     .defaults = FASHION_DEFAULTS,
     .dim = FASHION_PIXELS,
     .classes = fashion_classes,
     .has_test_split = true,
     .load = gm_data_fashion_load},
    {.info = {"stacked_fashion_mnist",
              "three Fashion-MNIST images as the channels of one, 1000 "
              "classes"},
     .keys = {{FILE_PATH(path), IN_RUN_FILE},
              {LONG(size, 1, STACKED_SIZE_MAX)},
              {LONG(seed, 0, INFINITY)}},
     .n_keys = 3,
     .defaults = FASHION_DEFAULTS,
     .dim = GM_STACKED_CHANNELS * FASHION_PIXELS,
     .classes = stacked_classes,
     .rows = size_rows,
     .has_test_split = true,
     .load = gm_data_stacked_fashion_load},
    {.info = {"idx", "an IDX file (plain or .gz), rows = first dimension"},
     .keys = {{FILE_PATH(path), REQUIRED, IN_RUN_FILE},
              {FILE_PATH(test_path), IN_RUN_FILE}},
     .n_keys = 2,
     .has_test_split = true,
     .load = gm_data_idx_load},
    {.info = {"csv", "points as comma-separated numbers, one row a line "
                     "(a first line of names is skipped)"},
     .keys = {{FILE_PATH(path), REQUIRED, IN_RUN_FILE},
              {FILE_PATH(test_path), IN_RUN_FILE}},
     .n_keys = 2,
     .has_test_split = true,
     .load = gm_data_csv_load},
    {.info = {"hdf5", "a 2-D float dataset inside an HDF5 file"},
     .keys = {{FILE_PATH(path), REQUIRED, IN_RUN_FILE},
              {STRING(key), REQUIRED, IN_RUN_FILE}},
     .n_keys = 2,
     .has_test_split = true,
     .load = gm_data_hdf5_load},
};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };
_Static_assert(N_KINDS <= GM_DATASET_KINDS_MAX, "raise GM_DATASET_KINDS_MAX");

const gm_dataset_kind_row *gm_dataset_kind_row_at(int i) {
    return i >= 0 && i < N_KINDS ? &kinds[i] : NULL;
}

const gm_dataset_kind_row *gm_dataset_kind_find(const char *name) {
    for (int k = 0; k < N_KINDS; k++)
        if (strcmp(name, kinds[k].info.name) == 0) return &kinds[k];
    return NULL;
}

const gm_dataset_kind *gm_dataset_kind_at(int i) {
    return i >= 0 && i < N_KINDS ? &kinds[i].info : NULL;
}

double gm_dataset_key_number(const gm_dataset_spec *spec,
                             const gm_dataset_key *k) {
    const char *field = (const char *)spec + k->offset;
    switch (k->type) {
    case GM_DATASET_KEY_INT: return *(const int *)field;
    case GM_DATASET_KEY_LONG: return (double)*(const long *)field;
    case GM_DATASET_KEY_NUMBER: return *(const double *)field;
    case GM_DATASET_KEY_STRING: break;
    }
    return NAN;
}

const char *gm_dataset_kind_keys(const gm_dataset_kind *kind, char *out,
                                 size_t cap) {
    const gm_dataset_kind_row *row = gm_dataset_kind_find(kind->name);
    size_t len = 0;
    if (cap) out[0] = '\0';
    for (int j = 0; row && j < row->n_keys && len < cap; j++) {
        const gm_dataset_key *k = &row->keys[j];
        const char *text = (const char *)&row->defaults + k->offset;
        const char *sep = j ? ", " : "";
        int n;
        if (k->type != GM_DATASET_KEY_STRING)
            n = snprintf(out + len, cap - len, "%s%s: %g", sep, k->name,
                         gm_dataset_key_number(&row->defaults, k));
        else
            n = snprintf(out + len, cap - len, "%s%s: %s", sep, k->name,
                         k->required ? "required"
                         : text[0]   ? text
                                     : "optional");
        if (n < 0) break;
        len += (size_t)n;
    }
    return out;
}
