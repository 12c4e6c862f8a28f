/* gm/data.h: datasets and mini-batches.
 *
 * A gm_dataset is a read-only table of float rows: the train split
 * [rows, dim] and, where the source has one, a test split [test_rows, dim].
 * Kinds (the `name` of a gm_dataset_spec):
 *   ring, grid     synthetic isotropic Gaussian mixtures in 2-D with equal
 *                  weights, sampled from a gm_rng stream; they know their
 *                  centres and their exact log-density (for the KL metrics)
 *   fashion_mnist  Zalando's Fashion-MNIST from its IDX files (Debian's
 *                  dataset-fashion-mnist), pixels in [0, 1], with labels
 *   stacked_fashion_mnist  three random Fashion-MNIST images as the three
 *                  channels of one [3, 28, 28], labelled l1*100 + l2*10 + l3
 *                  (1000 classes, as Stacked MNIST in VEEGAN and PacGAN)
 *   idx            any IDX file (plain or gzip), optional test file
 *   csv            points as comma-separated numbers, one row a line (a
 *                  first line of names is skipped), optional test file
 *   hdf5           a 2-D float or double dataset inside an HDF5 file
 * A gm_batcher deals shuffled mini-batches of a dataset, a new order each
 * epoch, without allocating after it is created. */
#ifndef GM_DATA_H
#define GM_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/api.h"
#include "gm/experiment.h"
#include "gm/rng.h"
#include "gm/state.h"
#include "gm/status.h"

GM_API_BEGIN

/* Where Debian's dataset-fashion-mnist package puts its files. */
#define GM_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The largest mixtures: a ring of a million modes, a 1000 x 1000 grid. */
#define GM_MIXTURE_MODES_MAX 1000000
#define GM_GRID_SIDE_MAX 1000

typedef struct gm_dataset gm_dataset;
typedef struct gm_batcher gm_batcher;

/* A built-in dataset kind, for `gm list datasets`. */
typedef struct gm_dataset_kind {
    const char *name;    /* "ring" */
    const char *summary; /* one line */
} gm_dataset_kind;

/* The i-th built-in kind, or NULL when i is past the last. */
const gm_dataset_kind *gm_dataset_kind_at(int i);

/* Writes the YAML keys of `kind` besides `name`, in the order they are
 * read, with their defaults, to out (cap bytes, cut to fit): "modes: 8,
 * radius: 2, std: 0.02, size: 100000"; a key without a default is
 * "required", or "optional" when it may be left out. Returns out. */
const char *gm_dataset_kind_keys(const gm_dataset_kind *kind, char *out,
                                 size_t cap);

/* Builds the dataset `spec` describes. ring and grid draw their samples
 * from `data_stream` (advancing it); other kinds ignore it (may be NULL).
 * NULL with err set when the spec is invalid or a file is missing or
 * malformed; the message names the file (and key) at fault. */
gm_dataset *gm_dataset_create(const gm_dataset_spec *spec, gm_rng *data_stream,
                              gm_error *err);

/* A dataset named "array" holding a copy of data [rows, dim], no test split. */
gm_dataset *gm_dataset_from_array(const float *data, size_t rows, int dim,
                                  gm_error *err);

/* Frees d and everything it owns (NULL is fine). */
void gm_dataset_free(gm_dataset *d);

/* The kind's name ("ring", "fashion_mnist", ..., or "array"). */
const char *gm_dataset_name(const gm_dataset *d);

/* Number of rows of the train split. */
size_t gm_dataset_rows(const gm_dataset *d);

/* Values per row (2 for mixtures, 784 for Fashion-MNIST). */
int gm_dataset_dim(const gm_dataset *d);

/* The train split, [rows, dim] row-major. */
const float *gm_dataset_data(const gm_dataset *d);

/* Class (or, for mixtures, mode) of each train row [rows]; NULL if none. */
const int *gm_dataset_labels(const gm_dataset *d);

/* Number of classes K of the labels (10 for Fashion-MNIST, 1000 for
 * Stacked Fashion-MNIST, the modes of a mixture): every label of either
 * split is in 0..K-1. 0 when the dataset has no labels. */
int gm_dataset_classes(const gm_dataset *d);

/* Number of rows of the test split; 0 when there is none. */
size_t gm_dataset_test_rows(const gm_dataset *d);

/* The test split, [test_rows, dim]; NULL when there is none. */
const float *gm_dataset_test_data(const gm_dataset *d);

/* Class of each test row [test_rows]; NULL if none. */
const int *gm_dataset_test_labels(const gm_dataset *d);

/* The shape of one row: 3 with shape [C, H, W] for images (Fashion-MNIST
 * [1, 28, 28], Stacked Fashion-MNIST [3, 28, 28], an IDX file [n, H, W]),
 * else 1 with shape [dim] (and 0s). */
int gm_dataset_shape(const gm_dataset *d, int shape[3]);

/* Number of mixture components K; 0 if d is not a mixture. */
int gm_dataset_modes(const gm_dataset *d);

/* The mixture's centres, [K, dim]; NULL if d is not a mixture. */
const float *gm_dataset_centers(const gm_dataset *d);

/* The mixture's per-coordinate standard deviation; 0 if not a mixture. */
double gm_dataset_std(const gm_dataset *d);

/* True if gm_dataset_log_density is available (the mixtures). */
bool gm_dataset_has_density(const gm_dataset *d);

/* Exact log p_data(x) of the equal-weight isotropic Gaussian mixture at
 * x [dim], by a log-sum-exp in double; NaN if d has no density. */
double gm_dataset_log_density(const gm_dataset *d, const float *x);

/* Index of the mixture centre nearest x [dim], with the Euclidean distance
 * to it in *dist (dist may be NULL); -1 if d is not a mixture. */
int gm_dataset_nearest_mode(const gm_dataset *d, const float *x, double *dist);

/* A batcher over the train split of d (which must outlive it): batches of
 * batch_size rows, in an order reshuffled from `data_stream` (copied) each
 * epoch. An epoch is floor(rows / batch_size) batches; the last partial
 * batch is dropped. batch_size must be in 1..rows. */
gm_batcher *gm_batcher_create(const gm_dataset *d, int batch_size,
                              gm_rng data_stream, gm_error *err);

/* Writes the next batch to out [batch_size, dim] and, when labels is not
 * NULL, the rows' classes as floats to labels [batch_size] (the dataset
 * must have labels); after the last batch of an epoch, reshuffles and
 * starts the next. Never allocates. */
void gm_batcher_next(gm_batcher *b, float *out, float *labels);

/* Number of epochs completed so far (0 during the first). */
long gm_batcher_epoch(const gm_batcher *b);

/* Batches in one epoch: floor(rows / batch_size). */
size_t gm_batcher_batches_per_epoch(const gm_batcher *b);

/* Frees b (NULL is fine); the dataset is not touched. */
/* The batcher's place as records under `prefix` of a run state: its
 * generator, the epoch's order, the next row and the epoch count. Loading
 * needs a batcher over the same dataset and batch size. */
gm_status gm_batcher_save_state(const gm_batcher *b, gm_state *s,
                                const char *prefix, gm_error *err);
gm_status gm_batcher_load_state(gm_batcher *b, const gm_state *s,
                                const char *prefix, gm_error *err);

void gm_batcher_free(gm_batcher *b);

GM_API_END

#endif
