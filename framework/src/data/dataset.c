/* The dataset object: creation by its kind (dataset_kinds.c) and the
 * accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/dataset_kinds.h"

/* "ring, grid, ... or hdf5": the kinds of the table. */
static void kind_names(char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; gm_dataset_kind_at(k) && len < cap; k++) {
        const char *sep = k == 0                       ? ""
                          : gm_dataset_kind_at(k + 1) ? ", "
                                                      : " or ";
        int n = snprintf(out + len, cap - len, "%s%s", sep,
                         gm_dataset_kind_at(k)->name);
        if (n < 0) break;
        len += (size_t)n;
    }
}

gm_dataset *gm_dataset_create(const gm_dataset_spec *spec, gm_rng *data_stream,
                              gm_error *err) {
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    if (!kind) {
        char names[256];
        kind_names(names, sizeof names);
        gm_error_set(err, GM_ERR_NOT_FOUND,
                     "dataset.name: unknown dataset \"%s\" (expected %s)",
                     spec->name, names);
        return NULL;
    }
    gm_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        gm_error_set(err, GM_ERR_NOMEM, "dataset %s: out of memory",
                     spec->name);
        return NULL;
    }
    snprintf(d->name, sizeof d->name, "%s", spec->name);
    if (kind->load(d, spec, data_stream, err) != GM_OK) {
        gm_dataset_free(d);
        return NULL;
    }
    return d;
}

gm_dataset *gm_dataset_from_array(const float *data, size_t rows, int dim,
                                  gm_error *err) {
    if (rows < 1 || dim < 1) {
        gm_error_set(err, GM_ERR_INVALID,
                     "dataset from array: needs rows >= 1 and dim >= 1, got "
                     "%zu x %d",
                     rows, dim);
        return NULL;
    }
    gm_dataset *d = calloc(1, sizeof *d);
    float *copy = d && rows <= SIZE_MAX / sizeof(float) / (size_t)dim
                      ? malloc(rows * (size_t)dim * sizeof *copy)
                      : NULL;
    if (!copy) {
        free(d);
        gm_error_set(err, GM_ERR_NOMEM,
                     "dataset from array: out of memory for %zu x %d floats",
                     rows, dim);
        return NULL;
    }
    memcpy(copy, data, rows * (size_t)dim * sizeof *copy);
    snprintf(d->name, sizeof d->name, "array");
    d->rows = rows;
    d->dim = dim;
    d->data = copy;
    return d;
}

void gm_dataset_free(gm_dataset *d) {
    if (!d) return;
    free(d->data);
    free(d->labels);
    free(d->test_data);
    free(d->test_labels);
    free(d->centers);
    free(d);
}

const char *gm_dataset_name(const gm_dataset *d) { return d->name; }
size_t gm_dataset_rows(const gm_dataset *d) { return d->rows; }
int gm_dataset_dim(const gm_dataset *d) { return d->dim; }
const float *gm_dataset_data(const gm_dataset *d) { return d->data; }
const int *gm_dataset_labels(const gm_dataset *d) { return d->labels; }
int gm_dataset_classes(const gm_dataset *d) { return d->classes; }
size_t gm_dataset_test_rows(const gm_dataset *d) { return d->test_rows; }
const float *gm_dataset_test_data(const gm_dataset *d) { return d->test_data; }
const int *gm_dataset_test_labels(const gm_dataset *d) {
    return d->test_labels;
}
int gm_dataset_shape(const gm_dataset *d, int shape[3]) {
    if (d->shape[0] == 0) {
        shape[0] = d->dim;
        shape[1] = shape[2] = 0;
        return 1;
    }
    memcpy(shape, d->shape, sizeof d->shape);
    return 3;
}
int gm_dataset_modes(const gm_dataset *d) { return d->modes; }
const float *gm_dataset_centers(const gm_dataset *d) { return d->centers; }
double gm_dataset_std(const gm_dataset *d) { return d->std; }
bool gm_dataset_has_density(const gm_dataset *d) { return d->modes > 0; }
