/* gm/frechet.h: the Frechet distance between Gaussian fits of two sets of
 * feature rows, the recipe of FID (Heusel et al. 2017):
 *   FD = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)),
 * mu and S each set's mean and unbiased covariance (divided by n - 1). The
 * trace of the square root is sum_i sqrt(lambda_i) over the eigenvalues
 * of the symmetric S_1^(1/2) S_2 S_1^(1/2), which has the eigenvalues of
 * S_1 S_2; both symmetric eigen-decompositions are LAPACK's dsyev (from
 * OpenBLAS), negative eigenvalues of rounding clamped to 0. All in double
 * precision. gm applies it to its classifier's features, not Inception's:
 * its values are not comparable with published FIDs. */
#ifndef GM_FRECHET_H
#define GM_FRECHET_H

#include "gm/api.h"
#include "gm/status.h"

GM_API_BEGIN

/* The Gaussian fit of a reference set and the buffers to fit and compare
 * sets of up to any size against it. */
typedef struct gm_frechet gm_frechet;

/* Fits reference rows [n, d] (n >= 2). Errors: bad sizes, no memory. */
gm_frechet *gm_frechet_create(const float *real, int n, int d, gm_error *err);

/* The Frechet distance between the Gaussian fit of rows [n, d] (n >= 2)
 * and the reference's. Never allocates. */
double gm_frechet_measure(gm_frechet *f, const float *rows, int n);

void gm_frechet_free(gm_frechet *f);

/* The distance between N(mu1, s1) and N(mu2, s2), d dimensions, s1 and
 * s2 [d, d] symmetric positive semi-definite; work holds 3 d^2 + d
 * doubles plus the workspace dsyev asks for, gm_frechet_work(d) of them
 * in all. */
double gm_frechet_distance(const double *mu1, const double *s1,
                           const double *mu2, const double *s2, int d,
                           double *work);
long gm_frechet_work(int d);

GM_API_END

#endif
