/* Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) from its four IDX files:
 * 28x28 grey images of 10 classes of clothing, 60000 to train on and 10000
 * to test. Debian's dataset-fashion-mnist installs them gzipped in
 * GM_FASHION_MNIST_DIR; unzipped copies are read as well. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"

#define INSTALL_HINT "install it with: apt-get install dataset-fashion-mnist"

/* Finds dir/name or dir/name.gz and writes it to path. */
static gm_status locate(const char *dir, const char *name, char *path, size_t n,
                        gm_error *err) {
    size_t len = strlen(dir);
    const char *sep = len > 0 && dir[len - 1] == '/' ? "" : "/";
    snprintf(path, n, "%s%s%s", dir, sep, name);
    if (access(path, F_OK) == 0) return GM_OK;
    snprintf(path, n, "%s%s%s.gz", dir, sep, name);
    if (access(path, F_OK) == 0) return GM_OK;
    return gm_error_set(err, GM_ERR_NOT_FOUND,
                        "fashion_mnist: %s not found (nor without .gz): "
                        "Fashion-MNIST is not installed there; " INSTALL_HINT,
                        path);
}

/* Reads one split: images [n, 28, 28] scaled to [0, 1] and n labels. */
static gm_status load_split(const char *dir, const char *images_name,
                            const char *labels_name, float **images,
                            int **labels, size_t *rows, gm_error *err) {
    char images_path[GM_PATH_MAX + 64], labels_path[GM_PATH_MAX + 64];
    gm_status st =
        locate(dir, images_name, images_path, sizeof images_path, err);
    if (st == GM_OK)
        st = locate(dir, labels_name, labels_path, sizeof labels_path, err);
    if (st != GM_OK) return st;

    gm_idx_array img, lab;
    if ((st = gm_data_idx_read(images_path, true, &img, err)) != GM_OK)
        return st;
    *images = img.values;
    if (img.type != 0x08 || img.ndim != 3 || img.dims[1] != GM_FASHION_SIDE ||
        img.dims[2] != GM_FASHION_SIDE)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: expected unsigned-byte images [n, 28, 28]",
                            images_path);
    if ((st = gm_data_idx_read(labels_path, false, &lab, err)) != GM_OK)
        return st;
    if (lab.type != 0x08 || lab.ndim != 1 || lab.rows != img.rows) {
        free(lab.values);
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: expected %zu unsigned-byte labels, one per "
                            "image of %s",
                            labels_path, img.rows, images_path);
    }
    *labels = malloc(lab.rows * sizeof **labels);
    if (!*labels) {
        free(lab.values);
        return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory",
                            labels_path);
    }
    for (size_t i = 0; i < lab.rows; i++)
        (*labels)[i] = (int)lab.values[i];
    free(lab.values);
    for (size_t i = 0; i < img.rows; i++)
        if ((*labels)[i] >= GM_FASHION_CLASSES)
            return gm_error_set(err, GM_ERR_IO,
                                "%s: label %d of row %zu is not a class 0..9",
                                labels_path, (*labels)[i], i);
    *rows = img.rows;
    return GM_OK;
}

gm_status gm_data_fashion_load(gm_dataset *d, const gm_dataset_spec *spec,
                               gm_rng *stream, gm_error *err) {
    const char *dir = spec->path[0] ? spec->path : GM_FASHION_MNIST_DIR;
    d->dim = GM_FASHION_SIDE * GM_FASHION_SIDE;
    d->classes = GM_FASHION_CLASSES;
    d->shape[0] = 1;
    d->shape[1] = d->shape[2] = GM_FASHION_SIDE;
    gm_status st =
        load_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   &d->data, &d->labels, &d->rows, err);
    if (st != GM_OK) return st;
    return load_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                      &d->test_data, &d->test_labels, &d->test_rows, err);
}
