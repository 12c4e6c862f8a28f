/* Mode coverage on hand-built sample sets, with exact expected counts
 * (the VEEGAN/PacGAN convention: high quality within 3 std of the nearest
 * mode; a mode is covered by at least one high-quality sample). */
#include <criterion/criterion.h>
#include <math.h>

#include "gm/aggregate_kl.h"
#include "gm/image_modes.h"
#include "gm/metrics.h"

/* The ring of 4 (radius 1, std 0.1): centres (1,0), (0,1), (-1,0), (0,-1). */
static gm_dataset *ring4(void) {
    gm_dataset_spec spec = {.name = "ring", .modes = 4, .radius = 1.0,
                            .std = 0.1, .size = 100};
    gm_rng r = gm_rng_stream(1, "data");
    gm_error err = {0};
    gm_dataset *d = gm_dataset_create(&spec, &r, &err);
    cr_assert_not_null(d, "%s", err.message);
    cr_assert_float_eq(gm_dataset_centers(d)[2], 0.0f, 1e-6); /* (0, 1) */
    cr_assert_float_eq(gm_dataset_centers(d)[3], 1.0f, 1e-6);
    return d;
}

Test(metrics, all_samples_in_one_mode) {
    gm_dataset *d = ring4();
    float s[10 * 2];
    for (int i = 0; i < 10; i++) {
        s[2 * i] = 1.0f + 0.01f * (float)i; /* within 0.1 of (1, 0) */
        s[2 * i + 1] = -0.02f;
    }
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 10, counts);
    cr_assert_eq(m.modes_covered, 1);
    cr_assert_float_eq(m.hq_fraction, 1.0, 1e-12);
    cr_assert_eq(counts[0], 10);
    cr_assert_eq(counts[1] + counts[2] + counts[3], 0);
    gm_dataset_free(d);
}

Test(metrics, samples_spread_over_every_mode) {
    gm_dataset *d = ring4();
    /* (0.35, -1) is 3.5 std from (0, -1): not high quality. */
    const float s[8 * 2] = {1.05f, 0,  0, 0.95f, -1, 0.1f,  0.35f, -1,
                            0.9f,  0.1f, 0, 1.1f, -1.1f, 0, -0.1f, -0.9f};
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 8, counts);
    cr_assert_eq(m.modes_covered, 4);
    cr_assert_float_eq(m.hq_fraction, 7.0 / 8.0, 1e-12, "%g", m.hq_fraction);
    cr_assert_eq(counts[0], 2);
    cr_assert_eq(counts[1], 2);
    cr_assert_eq(counts[2], 2);
    cr_assert_eq(counts[3], 1);
    gm_dataset_free(d);
}

Test(metrics, off_mode_points_count_for_nothing) {
    gm_dataset *d = ring4();
    /* Exactly at 3 std (0.3) is in; beyond is out; the origin is 1 away
     * from every centre. */
    const float s[4 * 2] = {1.3f, 0, 0, 1.31f, 0, 0, 0.5f, 0.5f};
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 4, counts);
    cr_assert_eq(counts[0], 1);
    cr_assert_eq(counts[1], 0);
    cr_assert_eq(m.modes_covered, 1);
    cr_assert_float_eq(m.hq_fraction, 0.25, 1e-12);
    gm_dataset_free(d);
}

/* ---- the aggregate posterior's KL (ELBO surgery) ----------------------- */

/* A linear-Gaussian encoder on x ~ N(0, 1): q(z | x) = N(a x, s^2 I).
 * Then q(z) = N(0, S) with S = a a^T + s^2 I, det S = s^(2D - 2)
 * (s^2 + |a|^2), and
 *   I_q(x; z)       = 0.5 log(1 + |a|^2 / s^2),
 *   KL(q(z) || p)   = 0.5 (tr S - D - log det S).
 * Draws mu, logvar and one z per row into the given arrays; returns the
 * rate, the mean KL(q(z|x_n) || p(z)) over the rows. */
static double linear_gaussian(const double *a, int dim, double s, int n,
                              float *mu, float *logvar, float *z) {
    gm_rng r = gm_rng_stream(7, "surgery");
    double rate = 0.0;
    for (int i = 0; i < n; i++) {
        double x = gm_rng_normal(&r);
        for (int d = 0; d < dim; d++) {
            size_t at = (size_t)i * dim + d;
            mu[at] = (float)(a[d] * x);
            logvar[at] = (float)(2.0 * log(s));
            z[at] = (float)(mu[at] + s * gm_rng_normal(&r));
            rate += 0.5 * ((double)mu[at] * mu[at] + s * s - 1 - 2 * log(s));
        }
    }
    return rate / n;
}

Test(aggregate_kl, linear_gaussian_closed_form) {
    enum { N = 4000, D = 2 };
    const double a[D] = {1.0, 0.3}, s = 0.5;
    static float mu[N * D], logvar[N * D], z[N * D];
    double rate = linear_gaussian(a, D, s, N, mu, logvar, z);
    double a2 = a[0] * a[0] + a[1] * a[1];
    double log_det = (D - 1) * log(s * s) + log(s * s + a2);
    double want_kl = 0.5 * (a2 + D * s * s - D - log_det);
    double want_mi = 0.5 * log(1 + a2 / (s * s));
    double *work = malloc(gm_aggregate_kl_workspace(N, D) * sizeof *work);
    double kl = gm_aggregate_kl(mu, logvar, z, N, D, work);
    free(work);
    cr_assert_float_eq(kl, want_kl, 0.03, "marginal KL %g, want %g", kl,
                       want_kl);
    cr_assert_float_eq(rate - kl, want_mi, 0.03, "I_q %g, want %g", rate - kl,
                       want_mi);
}

/* The bias the docs state: over N rows the mixture's I_q is at most
 * log N, so a code far more informative than log N nats reads as about
 * log N of mutual information, the rest as marginal KL. */
Test(aggregate_kl, mutual_information_saturates_at_log_n) {
    enum { N = 500, D = 2 };
    const double a[D] = {1.0, 1.0}, s = 1e-5; /* I_q = 12.2 nats */
    static float mu[N * D], logvar[N * D], z[N * D];
    double rate = linear_gaussian(a, D, s, N, mu, logvar, z);
    double *work = malloc(gm_aggregate_kl_workspace(N, D) * sizeof *work);
    double mi = rate - gm_aggregate_kl(mu, logvar, z, N, D, work);
    free(work);
    cr_assert(mi <= log(N) + 1e-6 && mi > log(N) - 0.05,
              "I_q %g against log N %g", mi, log(N));
}

/* ---- class histograms (image modes) ---------------------------------- */

/* By hand: half the samples on each of two of four equally likely
 * classes, KL = log 2. NumPy: p = [1,2,3,4]/10, q = [4,2,1,7]/14 (the
 * data [3,1,0,6] plus one each), sum(p log(p/q)) = 0.3035801719354877. */
Test(class_stats, modes_and_kl_of_hand_made_histograms) {
    gm_class_stats s = gm_class_stats_compute((const long[]){5, 5, 0, 0},
                                              (const long[]){9, 9, 9, 9}, 4);
    cr_assert_eq(s.modes_covered, 2);
    cr_assert_float_eq(s.kl, log(2.0), 1e-12, "%.17g", s.kl);
    s = gm_class_stats_compute((const long[]){1, 2, 3, 4},
                               (const long[]){3, 1, 0, 6}, 4);
    cr_assert_eq(s.modes_covered, 4);
    cr_assert_float_eq(s.kl, 0.3035801719354877, 1e-12, "%.17g", s.kl);
    /* samples in the data's (smoothed) proportions: no divergence */
    s = gm_class_stats_compute((const long[]){8, 4, 2, 14},
                               (const long[]){3, 1, 0, 6}, 4);
    cr_assert_float_eq(s.kl, 0.0, 1e-12, "%.17g", s.kl);
    s = gm_class_stats_compute((const long[]){0, 0, 0}, (const long[]){1, 1, 1},
                               3);
    cr_assert_eq(s.modes_covered, 0);
    cr_assert_eq(s.kl, 0.0);
}

/* Every sample in one of 1000 uniform classes (the collapsed generator of
 * Stacked MNIST): KL = log 1000 with one mode. */
Test(class_stats, total_collapse_on_stacked_classes) {
    static long gen[1000], data[1000];
    for (int i = 0; i < 1000; i++)
        data[i] = 60;
    gen[417] = 26000;
    gm_class_stats s = gm_class_stats_compute(gen, data, 1000);
    cr_assert_eq(s.modes_covered, 1);
    cr_assert_float_eq(s.kl, log(1000.0), 1e-9, "%.17g", s.kl);
}
