/* gm/kde.h: KL divergences between a model known only by its samples and
 * a data distribution with a known density.
 *
 * p_model is a Gaussian kernel density estimate of the model's samples,
 * with one bandwidth h for every dimension, chosen by leave-one-out
 * likelihood on (up to 500 of) the samples themselves: a log grid from
 * 1e-3 to 1 times the samples' overall spread, refined by golden-section
 * search. Then
 *   forward  KL(p_data || p_model) = mean over data x of
 *            log p_data(x) - log p_model(x)           (mode covering)
 *   reverse  KL(p_model || p_data) = mean over samples s of
 *            log p_model_{-s}(s) - log p_data(s)      (mode seeking)
 * where p_model_{-s} leaves s's own kernel out. The same estimator serves
 * every model, so models compare on equal terms. Its biases are measured
 * in tests/test_kde.c and stated in docs/metrics.md. */
#ifndef GM_KDE_H
#define GM_KDE_H

#include "gm/api.h"

GM_API_BEGIN

typedef double (*gm_log_density_fn)(const float *x, const void *ctx);

typedef struct gm_kl_estimate {
    double forward;   /* KL(p_data || p_model) */
    double reverse;   /* KL(p_model || p_data) */
    double bandwidth; /* the chosen h */
} gm_kl_estimate;

/* log of the KDE of samples [n, dim] with bandwidth h at x [dim], leaving
 * out sample `skip` (-1: none). */
double gm_kde_log_density(const float *samples, int n, int dim, double h,
                          const float *x, int skip);

/* The leave-one-out likelihood bandwidth for samples [n, dim], n >= 2. */
double gm_kde_bandwidth(const float *samples, int n, int dim);

/* Both KL directions: model samples [n_model, dim] (n_model >= 2), data
 * samples [n_data, dim] and the data's exact log-density. */
gm_kl_estimate gm_kl_estimate_kde(const float *model, int n_model,
                                  const float *data, int n_data, int dim,
                                  gm_log_density_fn log_p_data,
                                  const void *ctx);

GM_API_END

#endif
