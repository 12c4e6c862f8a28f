/* Synthetic 2-D Gaussian mixtures (ring and grid) and their exact density.
 *
 * Equal weights, isotropic standard deviation `std`: the 8-mode ring and
 * the 5x5 grid are the benchmarks of the VEEGAN and PacGAN papers. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "data/data_internal.h"

static gm_status check_common(const gm_dataset_spec *spec, gm_rng *stream,
                              gm_error *err) {
    if (!(spec->std > 0.0 && isfinite(spec->std)))
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.std: %s needs a finite std > 0, got %g",
                            spec->name, spec->std);
    if (spec->size < 1 || spec->size > INT_MAX)
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.size: %s needs size in 1..%d, got %ld",
                            spec->name, INT_MAX, spec->size);
    if (!stream)
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset %s: needs a data stream to sample from",
                            spec->name);
    return GM_OK;
}

/* Draws spec->size samples: a mode uniformly, then centre + std * N(0, I). */
static gm_status sample(gm_dataset *d, const gm_dataset_spec *spec,
                        gm_rng *stream, gm_error *err) {
    size_t n = (size_t)spec->size; /* <= INT_MAX: no overflow below */
    d->rows = n;
    d->dim = GM_MIXTURE_DIM;
    d->std = spec->std;
    d->data = malloc(n * GM_MIXTURE_DIM * sizeof *d->data);
    d->labels = malloc(n * sizeof *d->labels);
    d->classes = d->modes;
    if (!d->data || !d->labels)
        return gm_error_set(err, GM_ERR_NOMEM,
                            "dataset %s: out of memory for %zu samples",
                            spec->name, n);
    for (size_t i = 0; i < n; i++) {
        int k = (int)gm_rng_below(stream, (uint64_t)d->modes);
        d->labels[i] = k;
        for (int j = 0; j < GM_MIXTURE_DIM; j++)
            d->data[i * GM_MIXTURE_DIM + j] =
                (float)(d->centers[k * GM_MIXTURE_DIM + j] +
                        spec->std * gm_rng_normal(stream));
    }
    return GM_OK;
}

static gm_status alloc_centers(gm_dataset *d, const gm_dataset_spec *spec,
                               int modes, gm_error *err) {
    d->modes = modes;
    d->centers = malloc((size_t)modes * GM_MIXTURE_DIM * sizeof *d->centers);
    if (!d->centers)
        return gm_error_set(err, GM_ERR_NOMEM,
                            "dataset %s: out of memory for %d centres",
                            spec->name, modes);
    return GM_OK;
}

gm_status gm_data_ring_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err) {
    gm_status st = check_common(spec, stream, err);
    if (st != GM_OK) return st;
    if (spec->modes < 1 || spec->modes > GM_MIXTURE_MODES_MAX)
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.modes: ring needs modes in 1..%d, got %d",
                            GM_MIXTURE_MODES_MAX, spec->modes);
    if (!(spec->radius >= 0.0 && isfinite(spec->radius)))
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.radius: ring needs a finite radius >= 0, "
                            "got %g",
                            spec->radius);
    if ((st = alloc_centers(d, spec, spec->modes, err)) != GM_OK) return st;
    for (int k = 0; k < spec->modes; k++) {
        double angle = 2.0 * M_PI * k / spec->modes;
        d->centers[2 * k] = (float)(spec->radius * cos(angle));
        d->centers[2 * k + 1] = (float)(spec->radius * sin(angle));
    }
    return sample(d, spec, stream, err);
}

gm_status gm_data_grid_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err) {
    gm_status st = check_common(spec, stream, err);
    if (st != GM_OK) return st;
    if (spec->side < 1 || spec->side > GM_GRID_SIDE_MAX)
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.side: grid needs side in 1..%d, got %d",
                            GM_GRID_SIDE_MAX, spec->side);
    if (!(spec->spacing > 0.0 && isfinite(spec->spacing)))
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.spacing: grid needs a finite spacing > 0, "
                            "got %g",
                            spec->spacing);
    int side = spec->side;
    if ((st = alloc_centers(d, spec, side * side, err)) != GM_OK) return st;
    /* Row-major over (i, j): centre k = i * side + j at
     * ((i - (side-1)/2) * spacing, (j - (side-1)/2) * spacing). */
    double half = (side - 1) / 2.0;
    for (int i = 0; i < side; i++)
        for (int j = 0; j < side; j++) {
            int k = i * side + j;
            d->centers[2 * k] = (float)((i - half) * spec->spacing);
            d->centers[2 * k + 1] = (float)((j - half) * spec->spacing);
        }
    return sample(d, spec, stream, err);
}

/* |x - c_k|^2 in double. */
static double sq_dist(const gm_dataset *d, const float *x, int k) {
    double sq = 0.0;
    for (int j = 0; j < d->dim; j++) {
        double diff = (double)x[j] - d->centers[k * d->dim + j];
        sq += diff * diff;
    }
    return sq;
}

double gm_dataset_log_density(const gm_dataset *d, const float *x) {
    if (d->modes < 1) return NAN;
    /* log p(x) = log sum_k exp(-|x - c_k|^2 / (2 s^2)) - log K
     *            - (dim / 2) log(2 pi s^2), the sum taken around its
     * largest term so that far-away points do not underflow to -inf. */
    double inv_2var = 1.0 / (2.0 * d->std * d->std);
    double max_e = -INFINITY;
    for (int k = 0; k < d->modes; k++) {
        double e = -sq_dist(d, x, k) * inv_2var;
        if (e > max_e) max_e = e;
    }
    if (max_e == -INFINITY) return -INFINITY; /* x at infinity */
    double sum = 0.0;
    for (int k = 0; k < d->modes; k++)
        sum += exp(-sq_dist(d, x, k) * inv_2var - max_e);
    return max_e + log(sum) - log((double)d->modes) -
           0.5 * d->dim * log(2.0 * M_PI * d->std * d->std);
}

int gm_dataset_nearest_mode(const gm_dataset *d, const float *x, double *dist) {
    if (d->modes < 1) return -1;
    int best = 0;
    double best_sq = INFINITY;
    for (int k = 0; k < d->modes; k++) {
        double sq = sq_dist(d, x, k);
        if (sq < best_sq) {
            best_sq = sq;
            best = k;
        }
    }
    if (dist) *dist = sqrt(best_sq);
    return best;
}
