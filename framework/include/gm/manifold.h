/* gm/manifold.h: how well a sample covers a reference sample and how much
 * of it lies on the reference's manifold, by k-nearest-neighbour balls.
 *
 * With real rows r_1..r_n (the reference) and fake rows f_1..f_m, each in
 * a space of d features, and NND_k(x) the distance from x to its k-th
 * nearest neighbour among the other rows of its own set:
 *   precision = 1/m sum_j 1[exists i: |f_j - r_i| <= NND_k(r_i)]
 *   recall    = 1/n sum_i 1[exists j: |r_i - f_j| <= NND_k(f_j)]
 *   (improved precision and recall, Kynkaanniemi et al. 2019)
 *   density   = 1/(k m) sum_j sum_i 1[|f_j - r_i| <= NND_k(r_i)]
 *   coverage  = 1/n sum_i 1[exists j: |r_i - f_j| <= NND_k(r_i)]
 *   (Naeem et al. 2020).
 * Precision and density measure quality (fakes on the real manifold),
 * recall and coverage the covering of the real rows. Distances are
 * Euclidean, computed in double precision from the expansion
 * |a|^2 + |b|^2 - 2 a.b (dgemm) of rows centred at the reference's mean,
 * a chunk of rows at a time, so memory is O(chunk x max(n, m)). */
#ifndef GM_MANIFOLD_H
#define GM_MANIFOLD_H

#include "gm/api.h"
#include "gm/status.h"

GM_API_BEGIN

typedef struct gm_manifold_stats {
    double precision, recall, density, coverage;
} gm_manifold_stats;

/* A reference sample with its k-NN radii, and the buffers to measure up
 * to m_max fake rows against it. */
typedef struct gm_manifold gm_manifold;

/* real [n, d] is copied; needs k >= 1, n > k and m_max > k. Errors: bad
 * sizes, out of memory. */
gm_manifold *gm_manifold_create(const float *real, int n, int d, int k,
                                int m_max, gm_error *err);

/* The four statistics of fake [m, d] (k < m <= m_max) against the
 * reference. Never allocates. */
gm_manifold_stats gm_manifold_measure(gm_manifold *mf, const float *fake,
                                      int m);

void gm_manifold_free(gm_manifold *mf);

GM_API_END

#endif
