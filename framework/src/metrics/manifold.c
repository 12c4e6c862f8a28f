/* Precision, recall, density and coverage of k-nearest-neighbour balls
 * (gm/manifold.h): squared distances a block of rows at a time, one dgemm
 * per block, compared with squared radii. */
#include "gm/manifold.h"

#include <cblas.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Rows per block of the distance matrix: BLOCK x max(n, m) doubles. */
#define BLOCK 128

/* A set of rows in double precision, centred at the reference's mean,
 * with their squared norms and squared k-NN radii within the set. */
typedef struct row_set {
    int n;
    double *x;      /* [n, d] */
    double *sq;     /* [n] |x_i|^2 */
    double *radius; /* [n] NND_k(x_i)^2 */
} row_set;

struct gm_manifold {
    int d, k, m_max;
    double *mean; /* [d] the reference's */
    row_set real, fake;
    double *block;       /* [BLOCK, max(n, m_max)] squared distances */
    bool *real_recalled; /* [n] inside some fake's ball */
    bool *real_covered;  /* [n] some fake inside its ball */
};

static bool set_alloc(row_set *s, int n, int d) {
    s->x = malloc((size_t)n * d * sizeof *s->x);
    s->sq = malloc((size_t)n * sizeof *s->sq);
    s->radius = malloc((size_t)n * sizeof *s->radius);
    return s->x && s->sq && s->radius;
}

static void set_free(row_set *s) {
    free(s->x);
    free(s->sq);
    free(s->radius);
}

/* Copies rows [n, d] into s, centred at mean. */
static void set_load(row_set *s, const float *rows, int n, int d,
                     const double *mean) {
    s->n = n;
    for (int i = 0; i < n; i++) {
        double *x = s->x + (size_t)i * d, sq = 0.0;
        for (int j = 0; j < d; j++) {
            x[j] = (double)rows[(size_t)i * d + j] - mean[j];
            sq += x[j] * x[j];
        }
        s->sq[i] = sq;
    }
}

/* block [rows, b->n]: squared distances from rows a->x[first..] to every
 * row of b, clamped at 0 (the expansion can round below). */
static void distances(const row_set *a, int first, int rows, const row_set *b,
                      int d, double *block) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, b->n, d, -2.0,
                a->x + (size_t)first * d, d, b->x, d, 0.0, block, b->n);
    for (int i = 0; i < rows; i++) {
        double *row = block + (size_t)i * b->n, sq = a->sq[first + i];
        for (int j = 0; j < b->n; j++) {
            double v = row[j] + sq + b->sq[j];
            row[j] = v > 0.0 ? v : 0.0;
        }
    }
}

/* The k-th smallest of row [n] leaving out index `self`. */
static double kth_smallest(const double *row, int n, int self, int k) {
    double best[64]; /* ascending, k <= 64 (gm_manifold_create checks) */
    int have = 0;
    for (int j = 0; j < n; j++) {
        if (j == self) continue;
        double v = row[j];
        if (have == k && v >= best[k - 1]) continue;
        int at = have < k ? have++ : k - 1;
        while (at > 0 && best[at - 1] > v) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = v;
    }
    return best[k - 1];
}

/* Every row's squared k-NN radius within its own set. */
static void radii(row_set *s, int d, int k, double *block) {
    for (int first = 0; first < s->n; first += BLOCK) {
        int rows = s->n - first < BLOCK ? s->n - first : BLOCK;
        distances(s, first, rows, s, d, block);
        for (int i = 0; i < rows; i++)
            s->radius[first + i] =
                kth_smallest(block + (size_t)i * s->n, s->n, first + i, k);
    }
}

void gm_manifold_free(gm_manifold *mf) {
    if (!mf) return;
    free(mf->mean);
    set_free(&mf->real);
    set_free(&mf->fake);
    free(mf->block);
    free(mf->real_recalled);
    free(mf->real_covered);
    free(mf);
}

gm_manifold *gm_manifold_create(const float *real, int n, int d, int k,
                                int m_max, gm_error *err) {
    if (d < 1 || k < 1 || k > 64 || n <= k || m_max <= k) {
        gm_error_set(err, GM_ERR_INVALID,
                     "k-nearest-neighbour metrics: need 1 <= k <= 64 and "
                     "more than k rows on each side (k %d, %d reference "
                     "rows, %d samples, %d features)",
                     k, n, m_max, d);
        return NULL;
    }
    gm_manifold *mf = calloc(1, sizeof *mf);
    int widest = n > m_max ? n : m_max;
    bool ok = mf && (mf->mean = calloc((size_t)d, sizeof *mf->mean)) &&
              set_alloc(&mf->real, n, d) && set_alloc(&mf->fake, m_max, d) &&
              (mf->block = malloc((size_t)BLOCK * widest * sizeof(double))) &&
              (mf->real_recalled = malloc((size_t)n * sizeof(bool))) &&
              (mf->real_covered = malloc((size_t)n * sizeof(bool)));
    if (!ok) {
        gm_manifold_free(mf);
        gm_error_set(err, GM_ERR_NOMEM,
                     "k-nearest-neighbour metrics: out of memory for %d "
                     "reference rows and %d samples of %d features",
                     n, m_max, d);
        return NULL;
    }
    mf->d = d;
    mf->k = k;
    mf->m_max = m_max;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            mf->mean[j] += real[(size_t)i * d + j];
    for (int j = 0; j < d; j++)
        mf->mean[j] /= n;
    set_load(&mf->real, real, n, d, mf->mean);
    radii(&mf->real, d, k, mf->block);
    return mf;
}

gm_manifold_stats gm_manifold_measure(gm_manifold *mf, const float *fake,
                                      int m) {
    GM_ASSERT(m > mf->k && m <= mf->m_max);
    int d = mf->d, n = mf->real.n;
    set_load(&mf->fake, fake, m, d, mf->mean);
    radii(&mf->fake, d, mf->k, mf->block);
    memset(mf->real_recalled, 0, (size_t)n * sizeof(bool));
    memset(mf->real_covered, 0, (size_t)n * sizeof(bool));
    const double *real_radius = mf->real.radius;
    long on_manifold = 0, in_balls = 0;
    for (int first = 0; first < m; first += BLOCK) {
        int rows = m - first < BLOCK ? m - first : BLOCK;
        distances(&mf->fake, first, rows, &mf->real, d, mf->block);
        for (int r = 0; r < rows; r++) {
            const double *dist = mf->block + (size_t)r * n;
            double fake_radius = mf->fake.radius[first + r];
            long balls = 0;
            for (int i = 0; i < n; i++) {
                bool inside = dist[i] <= real_radius[i];
                balls += inside;
                mf->real_covered[i] |= inside;
                mf->real_recalled[i] |= dist[i] <= fake_radius;
            }
            in_balls += balls;
            on_manifold += balls > 0;
        }
    }
    long recalled = 0, covered = 0;
    for (int i = 0; i < n; i++) {
        recalled += mf->real_recalled[i];
        covered += mf->real_covered[i];
    }
    return (gm_manifold_stats){
        .precision = (double)on_manifold / m,
        .recall = (double)recalled / n,
        .density = (double)in_balls / ((double)mf->k * m),
        .coverage = (double)covered / n,
    };
}
