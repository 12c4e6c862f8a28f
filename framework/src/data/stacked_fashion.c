/* Stacked Fashion-MNIST: the Stacked MNIST of the mode-collapse papers
 * (VEEGAN, PacGAN, unrolled GAN) built from Fashion-MNIST, which Debian
 * ships: three images drawn at random become the three channels of one
 * [3, 28, 28] image whose class is l1 * 100 + l2 * 10 + l3, so that the
 * data has 1000 modes. The train split stacks training images, the test
 * split as many test images as Fashion-MNIST has. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum {
    CHANNELS = GM_STACKED_CHANNELS,
    PIXELS = GM_FASHION_SIDE * GM_FASHION_SIDE,
};

/* rows stacked images from the n images (and labels) of one split. */
static gm_status stack(const float *images, const int *labels, size_t n,
                       size_t rows, gm_rng *r, float **out, int **out_labels,
                       gm_error *err) {
    *out = malloc(rows * CHANNELS * PIXELS * sizeof **out);
    *out_labels = malloc(rows * sizeof **out_labels);
    if (!*out || !*out_labels)
        return gm_error_set(err, GM_ERR_NOMEM,
                            "stacked_fashion_mnist: out of memory for %zu "
                            "images",
                            rows);
    for (size_t i = 0; i < rows; i++) {
        int label = 0;
        for (int c = 0; c < CHANNELS; c++) {
            size_t src = (size_t)gm_rng_below(r, n);
            memcpy(*out + (i * CHANNELS + c) * PIXELS, images + src * PIXELS,
                   PIXELS * sizeof **out);
            label = label * 10 + labels[src];
        }
        (*out_labels)[i] = label;
    }
    return GM_OK;
}

gm_status gm_data_stacked_fashion_load(gm_dataset *d,
                                       const gm_dataset_spec *spec,
                                       gm_rng *stream, gm_error *err) {
    if (spec->size < 1)
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.size: stacked_fashion_mnist needs at "
                            "least 1 image, got %ld",
                            spec->size);
    gm_dataset fashion = {0};
    gm_status st = gm_data_fashion_load(&fashion, spec, NULL, err);
    gm_rng r = gm_rng_stream((uint64_t)spec->seed, "stacked_fashion_mnist");
    if (st == GM_OK)
        st = stack(fashion.data, fashion.labels, fashion.rows,
                   (size_t)spec->size, &r, &d->data, &d->labels, err);
    if (st == GM_OK)
        st = stack(fashion.test_data, fashion.test_labels, fashion.test_rows,
                   fashion.test_rows, &r, &d->test_data, &d->test_labels, err);
    free(fashion.data);
    free(fashion.labels);
    free(fashion.test_data);
    free(fashion.test_labels);
    if (st != GM_OK) return st;
    d->rows = (size_t)spec->size;
    d->test_rows = fashion.test_rows;
    d->dim = CHANNELS * PIXELS;
    d->classes = fashion.classes * fashion.classes * fashion.classes;
    d->shape[0] = CHANNELS;
    d->shape[1] = d->shape[2] = GM_FASHION_SIDE;
    return GM_OK;
}
