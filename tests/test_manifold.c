/* Precision, recall, density, coverage (gm/manifold.h) and the Frechet
 * distance (gm/frechet.h): against NumPy's evaluation of the published
 * formulas (tests/fixtures/manifold_reference.py), and on cases whose
 * answer is known: identical sets, disjoint sets, one of ten clusters
 * missing, Gaussians whose covariances commute. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "fixtures/manifold_reference.h"
#include "gm/frechet.h"
#include "gm/manifold.h"
#include "gm/rng.h"

static gm_manifold_stats measure(const float *real, int n, const float *fake,
                                 int m, int d, int k) {
    gm_error err = {0};
    gm_manifold *mf = gm_manifold_create(real, n, d, k, m, &err);
    cr_assert(mf, "%s", err.message);
    gm_manifold_stats s = gm_manifold_measure(mf, fake, m);
    gm_manifold_free(mf);
    return s;
}

static double frechet(const float *real, int n, const float *fake, int m,
                      int d) {
    gm_error err = {0};
    gm_frechet *f = gm_frechet_create(real, n, d, &err);
    cr_assert(f, "%s", err.message);
    double fd = gm_frechet_measure(f, fake, m);
    gm_frechet_free(f);
    return fd;
}

static void expect_stats(gm_manifold_stats s, const double want[4]) {
    const char *names[4] = {"precision", "recall", "density", "coverage"};
    double got[4] = {s.precision, s.recall, s.density, s.coverage};
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(got[i] - want[i]) < 1e-12, "%s: %.17g, NumPy %.17g",
                  names[i], got[i], want[i]);
}

Test(manifold, matches_numpy_k3) {
    expect_stats(measure(ref_real, REF_N_REAL, ref_fake, REF_N_FAKE, REF_D, 3),
                 ref_prdc_k3);
}

Test(manifold, matches_numpy_k5) {
    expect_stats(measure(ref_real, REF_N_REAL, ref_fake, REF_N_FAKE, REF_D, 5),
                 ref_prdc_k5);
}

Test(frechet, matches_numpy) {
    double fd = frechet(ref_real, REF_N_REAL, ref_fake, REF_N_FAKE, REF_D);
    cr_expect(fabs(fd - ref_frechet[0]) < 1e-10 * ref_frechet[0],
              "FD %.17g, NumPy %.17g", fd, ref_frechet[0]);
}

/* n rows of d features: cluster c = i % clusters (of `clusters`) around
 * 10 * e_(c mod d) * (1 + c / d), spread 0.3, from stream `name`. */
static float *clusters(int n, int d, int n_clusters, int skip_cluster,
                       const char *name) {
    float *x = malloc((size_t)n * d * sizeof *x);
    gm_rng r = gm_rng_stream(26, name);
    for (int i = 0, row = 0; row < n; i++) {
        int c = i % n_clusters;
        if (c == skip_cluster) continue;
        for (int j = 0; j < d; j++)
            x[(size_t)row * d + j] =
                (float)((j == c % d ? 10.0 * (1 + c / d) : 0.0) +
                        0.3 * gm_rng_normal(&r));
        row++;
    }
    return x;
}

Test(manifold, identical_sets) {
    enum { N = 600, D = 8 };
    float *x = clusters(N, D, 10, -1, "identical");
    gm_manifold_stats s = measure(x, N, x, N, D, 3);
    cr_expect_eq(s.precision, 1.0);
    cr_expect_eq(s.recall, 1.0);
    cr_expect_eq(s.coverage, 1.0);
    double fd = frechet(x, N, x, N, D);
    cr_expect(fabs(fd) < 1e-9, "FD of a set with itself: %g", fd);
    free(x);
}

Test(manifold, disjoint_sets) {
    enum { N = 400, D = 4 };
    float *real = clusters(N, D, 1, -1, "real");
    float *fake = malloc((size_t)N * D * sizeof *fake);
    for (int i = 0; i < N * D; i++)
        fake[i] = real[i] + 100.0f;
    gm_manifold_stats s = measure(real, N, fake, N, D, 3);
    cr_expect_eq(s.precision, 0.0);
    cr_expect_eq(s.recall, 0.0);
    cr_expect_eq(s.density, 0.0);
    cr_expect_eq(s.coverage, 0.0);
    /* the same rows 100 further in each of 4 features: 40000 (float32
     * rounding of the shifted rows moves it by about 4e-5) */
    double fd = frechet(real, N, fake, N, D);
    cr_expect(fabs(fd - 4e4) < 1e-3, "FD %.17g, expected 40000", fd);
    free(real);
    free(fake);
}

/* A sample missing one of ten equal clusters recalls and covers a tenth
 * less of the real rows than a full sample does (with k = 3 in 8
 * dimensions even a sample of the real distribution covers about
 * 1 - 2^-3 of them, Naeem et al.), and its precision is the same. */
Test(manifold, one_of_ten_clusters_dropped) {
    enum { N = 3000, D = 8 };
    float *real = clusters(N, D, 10, -1, "real");
    float *full = clusters(N, D, 10, -1, "full");
    float *dropped = clusters(N, D, 10, 7, "dropped");
    gm_manifold_stats a = measure(real, N, full, N, D, 3);
    gm_manifold_stats b = measure(real, N, dropped, N, D, 3);
    cr_expect(a.recall > 0.8 && a.coverage > 0.8,
              "a sample of the real distribution: recall %g, coverage %g",
              a.recall, a.coverage);
    cr_expect(fabs(b.recall / a.recall - 0.9) < 0.02,
              "recall %g with every cluster, %g without one", a.recall,
              b.recall);
    cr_expect(fabs(b.coverage / a.coverage - 0.9) < 0.02,
              "coverage %g with every cluster, %g without one", a.coverage,
              b.coverage);
    cr_expect(fabs(a.precision - b.precision) < 0.02,
              "precision %g with every cluster, %g without one", a.precision,
              b.precision);
    cr_expect(fabs(a.density - b.density) < 0.05,
              "density %g with every cluster, %g without one", a.density,
              b.density);
    free(real);
    free(full);
    free(dropped);
}

/* Covariances R diag(a) R^T and R diag(b) R^T commute: the distance is
 * |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2. */
Test(frechet, commuting_covariances) {
    enum { D = 3 };
    const double c = cos(0.6), s = sin(0.6);
    const double rot[D][D] = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}};
    const double a[D] = {4.0, 1.0, 0.25}, b[D] = {1.0, 9.0, 0.0};
    double s1[D * D], s2[D * D];
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            s1[i * D + j] = s2[i * D + j] = 0.0;
            for (int k = 0; k < D; k++) {
                s1[i * D + j] += rot[i][k] * a[k] * rot[j][k];
                s2[i * D + j] += rot[i][k] * b[k] * rot[j][k];
            }
        }
    const double mu1[D] = {1, 2, 3}, mu2[D] = {1, 0, 3};
    double want = 4.0;
    for (int k = 0; k < D; k++)
        want += (sqrt(a[k]) - sqrt(b[k])) * (sqrt(a[k]) - sqrt(b[k]));
    double *work = malloc((size_t)gm_frechet_work(D) * sizeof *work);
    double got = gm_frechet_distance(mu1, s1, mu2, s2, D, work);
    double back = gm_frechet_distance(mu2, s2, mu1, s1, D, work);
    cr_expect(fabs(got - want) < 1e-12, "FD %.17g, expected %.17g", got, want);
    cr_expect(fabs(back - want) < 1e-12, "FD the other way %.17g", back);
    free(work);
}

Test(manifold, refuses_too_few_rows) {
    float x[8] = {0};
    gm_error err = {0};
    cr_expect_null(gm_manifold_create(x, 3, 2, 3, 10, &err));
    cr_expect(strstr(err.message, "more than k rows"), "%s", err.message);
}
