/* The dataset object: the table of kinds, creation and the accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

typedef gm_status (*load_fn)(gm_dataset *d, const gm_dataset_spec *spec,
                             gm_rng *stream, gm_error *err);

static gm_status load_idx(gm_dataset *d, const gm_dataset_spec *spec,
                          gm_rng *stream, gm_error *err) {
    return gm_data_idx_load(d, spec, err);
}
static gm_status load_fashion(gm_dataset *d, const gm_dataset_spec *spec,
                              gm_rng *stream, gm_error *err) {
    return gm_data_fashion_load(d, spec, err);
}
static gm_status load_stacked_fashion(gm_dataset *d,
                                      const gm_dataset_spec *spec,
                                      gm_rng *stream, gm_error *err) {
    return gm_data_stacked_fashion_load(d, spec, err);
}
static gm_status load_hdf5(gm_dataset *d, const gm_dataset_spec *spec,
                           gm_rng *stream, gm_error *err) {
    return gm_data_hdf5_load(d, spec, err);
}

static const struct {
    gm_dataset_kind kind;
    load_fn load;
} kinds[] = {
    {{"ring", "Gaussian mixture with modes on a circle (2-D)",
      "modes radius std size"},
     gm_data_ring_load},
    {{"grid", "Gaussian mixture on a side x side grid (2-D)",
      "side spacing std size"},
     gm_data_grid_load},
    {{"fashion_mnist", "Zalando's Fashion-MNIST, 28x28 pixels in [0, 1]",
      "path (directory, default " GM_FASHION_MNIST_DIR ")"},
     load_fashion},
    {{"stacked_fashion_mnist",
      "three Fashion-MNIST images as the channels of one, 1000 classes",
      "path size seed"},
     load_stacked_fashion},
    {{"idx", "an IDX file (plain or .gz), rows = first dimension",
      "path test_path"},
     load_idx},
    {{"hdf5", "a 2-D float dataset inside an HDF5 file", "path key"},
     load_hdf5},
};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };

const gm_dataset_kind *gm_dataset_kind_at(int i) {
    return i >= 0 && i < N_KINDS ? &kinds[i].kind : NULL;
}

gm_dataset *gm_dataset_create(const gm_dataset_spec *spec, gm_rng *data_stream,
                              gm_error *err) {
    int k = 0;
    while (k < N_KINDS && strcmp(spec->name, kinds[k].kind.name) != 0)
        k++;
    if (k == N_KINDS) {
        gm_error_set(err, GM_ERR_NOT_FOUND,
                     "dataset.name: unknown dataset \"%s\" (expected ring, "
                     "grid, fashion_mnist, stacked_fashion_mnist, idx or "
                     "hdf5)",
                     spec->name);
        return NULL;
    }
    gm_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        gm_error_set(err, GM_ERR_NOMEM, "dataset %s: out of memory",
                     spec->name);
        return NULL;
    }
    snprintf(d->name, sizeof d->name, "%s", spec->name);
    if (kinds[k].load(d, spec, data_stream, err) != GM_OK) {
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
