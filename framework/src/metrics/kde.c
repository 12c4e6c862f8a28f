#include "gm/kde.h"

#include <math.h>
#include <stddef.h>

/* Points the bandwidth is scored on: enough for a stable choice, few
 * enough to keep an evaluation cheap (each scores against all samples). */
#define SCORE_POINTS 500
#define GRID 13
#define REFINE 8

static double sq_dist(const float *a, const float *b, int dim) {
    double s = 0.0;
    for (int j = 0; j < dim; j++) {
        double d = (double)a[j] - b[j];
        s += d * d;
    }
    return s;
}

double gm_kde_log_density(const float *samples, int n, int dim, double h,
                          const float *x, int skip) {
    /* log mean_i N(x; s_i, h^2 I), by log-sum-exp around the nearest
     * sample so that far points neither underflow nor overflow; kernels
     * below e^-40 of the nearest one cannot change the sum and are not
     * exponentiated. */
    double inv = 1.0 / (2.0 * h * h), nearest = INFINITY;
    for (int i = 0; i < n; i++)
        if (i != skip)
            nearest =
                fmin(nearest, sq_dist(samples + (size_t)i * dim, x, dim));
    double cutoff = nearest + 40.0 / inv, sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (i == skip) continue;
        double d2 = sq_dist(samples + (size_t)i * dim, x, dim);
        if (d2 < cutoff) sum += exp(-(d2 - nearest) * inv);
    }
    int count = skip >= 0 ? n - 1 : n;
    return -nearest * inv + log(sum / count) -
           0.5 * dim * log(2.0 * M_PI * h * h);
}

/* Mean leave-one-out log-likelihood of the first points of samples. */
static double loo_score(const float *samples, int n, int dim, double h) {
    int m = n < SCORE_POINTS ? n : SCORE_POINTS;
    double s = 0.0;
    for (int i = 0; i < m; i++)
        s += gm_kde_log_density(samples, n, dim, h, samples + (size_t)i * dim,
                                i);
    return s / m;
}

double gm_kde_bandwidth(const float *samples, int n, int dim) {
    double mean_sq = 0.0;
    for (int j = 0; j < dim; j++) {
        double mu = 0.0, sq = 0.0;
        for (int i = 0; i < n; i++) mu += samples[(size_t)i * dim + j];
        mu /= n;
        for (int i = 0; i < n; i++) {
            double d = samples[(size_t)i * dim + j] - mu;
            sq += d * d;
        }
        mean_sq += sq / n;
    }
    double spread = sqrt(mean_sq / dim);
    if (!(spread > 0.0)) spread = 1e-6; /* every sample identical */
    /* A coarse grid finds the basin, golden-section search refines log h
     * within the grid step around it. */
    double step = 3.0 / (GRID - 1), best_t = 0.0, best = -INFINITY;
    for (int k = 0; k < GRID; k++) {
        double t = -3.0 + step * k;
        double score = loo_score(samples, n, dim, spread * pow(10.0, t));
        if (score > best) {
            best = score;
            best_t = t;
        }
    }
    const double phi = 0.6180339887498949;
    double a = best_t - step, b = best_t + step;
    double c = b - phi * (b - a), d = a + phi * (b - a);
    double fc = loo_score(samples, n, dim, spread * pow(10.0, c));
    double fd = loo_score(samples, n, dim, spread * pow(10.0, d));
    for (int it = 0; it < REFINE; it++) {
        if (fc > fd) {
            b = d, d = c, fd = fc;
            c = b - phi * (b - a);
            fc = loo_score(samples, n, dim, spread * pow(10.0, c));
        } else {
            a = c, c = d, fc = fd;
            d = a + phi * (b - a);
            fd = loo_score(samples, n, dim, spread * pow(10.0, d));
        }
    }
    return spread * pow(10.0, 0.5 * (a + b));
}

gm_kl_estimate gm_kl_estimate_kde(const float *model, int n_model,
                                  const float *data, int n_data, int dim,
                                  gm_log_density_fn log_p_data,
                                  const void *ctx) {
    gm_kl_estimate e = {.bandwidth = gm_kde_bandwidth(model, n_model, dim)};
    double fwd = 0.0, rev = 0.0;
    for (int i = 0; i < n_data; i++) {
        const float *x = data + (size_t)i * dim;
        fwd += log_p_data(x, ctx) -
               gm_kde_log_density(model, n_model, dim, e.bandwidth, x, -1);
    }
    for (int i = 0; i < n_model; i++) {
        const float *s = model + (size_t)i * dim;
        rev += gm_kde_log_density(model, n_model, dim, e.bandwidth, s, i) -
               log_p_data(s, ctx);
    }
    e.forward = fwd / n_data;
    e.reverse = rev / n_model;
    return e;
}
