/* Inside gm_dataset (internal to framework/src/data).
 *
 * dataset.c owns the object and its accessors; each kind's file fills a
 * zeroed gm_dataset through its loader and leaves it for gm_dataset_free
 * to release, even when it fails half-way. */
#ifndef GM_DATA_INTERNAL_H
#define GM_DATA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gm/data.h"

struct gm_dataset {
    char name[32];
    size_t rows;
    int dim;
    float *data; /* [rows, dim] */
    int *labels; /* [rows] or NULL */
    int classes; /* labels are 0..classes-1; 0 without labels */
    size_t test_rows;
    float *test_data; /* [test_rows, dim] or NULL */
    int *test_labels; /* [test_rows] or NULL */
    int shape[3];     /* one row as an image [C, H, W], or all 0 */
    /* mixtures only */
    int modes;
    float *centers; /* [modes, dim] */
    double std;
};

/* What a point of the built-in kinds is: a mixture's is 2-D; a
 * Fashion-MNIST image is SIDE x SIDE grey pixels of one of CLASSES
 * classes; a stacked one has three images as channels. */
enum {
    GM_MIXTURE_DIM = 2,
    GM_FASHION_SIDE = 28,
    GM_FASHION_CLASSES = 10,
    GM_STACKED_CHANNELS = 3,
};

/* ring and grid: centres from the spec, then spec->size samples. */
gm_status gm_data_ring_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err);
gm_status gm_data_grid_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err);

/* The loaders of the kinds that read files take the same arguments as the
 * mixtures' (dataset_kinds.h) and ignore the stream. */

/* idx: spec->path and the optional spec->test_path. */
gm_status gm_data_idx_load(gm_dataset *d, const gm_dataset_spec *spec,
                           gm_rng *stream, gm_error *err);

/* fashion_mnist: the four IDX files in directory spec->path. */
gm_status gm_data_fashion_load(gm_dataset *d, const gm_dataset_spec *spec,
                               gm_rng *stream, gm_error *err);

/* csv: the comma-separated rows of spec->path and the optional
 * spec->test_path (csv.c says what a file may hold). */
gm_status gm_data_csv_load(gm_dataset *d, const gm_dataset_spec *spec,
                           gm_rng *stream, gm_error *err);

/* hdf5: the 2-D dataset spec->key in file spec->path. */
gm_status gm_data_hdf5_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err);

#define GM_IDX_MAX_DIMS 8

/* One IDX file read into floats, viewed as [rows, cols]: rows is the first
 * dimension, cols the product of the others (1 for a 1-D file). */
typedef struct gm_idx_array {
    float *values; /* [rows, cols], malloc'd: the caller frees it */
    size_t rows;
    int cols;
    int ndim;
    uint32_t dims[GM_IDX_MAX_DIMS];
    int type; /* the IDX type code: 0x08 ubyte ... 0x0E float64 */
} gm_idx_array;

/* Reads the IDX file at `path` (gzip or plain). Unsigned bytes become
 * value / 255 when scale_ubyte is true, their integer value otherwise;
 * other types keep their value. Errors name the path. */
gm_status gm_data_idx_read(const char *path, bool scale_ubyte,
                           gm_idx_array *out, gm_error *err);

/* stacked_fashion_mnist: spec->size images of three Fashion-MNIST images
 * (from directory spec->path) drawn with spec->seed. */
gm_status gm_data_stacked_fashion_load(gm_dataset *d,
                                       const gm_dataset_spec *spec,
                                       gm_rng *stream, gm_error *err);

#endif
