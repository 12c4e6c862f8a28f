/* The seeded generator: repeatable, split into independent streams, and
 * with the right distributions. */
#include <criterion/criterion.h>
#include <math.h>

#include "gm/rng.h"

Test(rng, same_seed_same_sequence) {
    gm_rng a, b;
    gm_rng_seed(&a, 42);
    gm_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) cr_assert_eq(gm_rng_u64(&a), gm_rng_u64(&b));
}

Test(rng, xoshiro256starstar_reference_output) {
    /* The reference algorithm from state {1, 2, 3, 4} yields 11520 first
     * (rotl(2 * 5, 7) * 9), then 0, then 1509978240 (vigna's test vector). */
    gm_rng r = {.s = {1, 2, 3, 4}};
    cr_assert_eq(gm_rng_u64(&r), 11520u);
    cr_assert_eq(gm_rng_u64(&r), 0u);
    cr_assert_eq(gm_rng_u64(&r), 1509978240u);
}

Test(rng, named_streams_differ_and_repeat) {
    gm_rng data = gm_rng_stream(7, "data"), init = gm_rng_stream(7, "init");
    gm_rng data2 = gm_rng_stream(7, "data"), other = gm_rng_stream(8, "data");
    uint64_t d = gm_rng_u64(&data);
    cr_assert_neq(d, gm_rng_u64(&init));
    cr_assert_eq(d, gm_rng_u64(&data2));
    cr_assert_neq(d, gm_rng_u64(&other));
}

Test(rng, split_gives_a_new_stream) {
    gm_rng parent = gm_rng_stream(1, "noise");
    gm_rng a = gm_rng_split(&parent), b = gm_rng_split(&parent);
    cr_assert_neq(gm_rng_u64(&a), gm_rng_u64(&b));
}

Test(rng, uniform_moments) {
    gm_rng r = gm_rng_stream(3, "u");
    const int n = 200000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double u = gm_rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        s += u;
        s2 += u * u;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    cr_assert_float_eq(mean, 0.5, 0.005);
    cr_assert_float_eq(var, 1.0 / 12.0, 0.002);
}

Test(rng, normal_moments) {
    gm_rng r = gm_rng_stream(4, "n");
    const int n = 200000;
    float *x = malloc(n * sizeof *x);
    gm_rng_fill_normal(&r, x, n);
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        s4 += (double)x[i] * x[i] * x[i] * x[i];
    }
    free(x);
    cr_assert_float_eq(s / n, 0.0, 0.01);
    cr_assert_float_eq(s2 / n, 1.0, 0.015);
    cr_assert_float_eq(s4 / n, 3.0, 0.1); /* kurtosis of a Gaussian */
}

Test(rng, below_is_in_range_and_even) {
    gm_rng r = gm_rng_stream(5, "b");
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t k = gm_rng_below(&r, 7);
        cr_assert_lt(k, 7u);
        counts[k]++;
    }
    for (int k = 0; k < 7; k++) cr_assert_float_eq(counts[k], 10000, 400);
}

Test(rng, shuffle_is_a_permutation) {
    gm_rng r = gm_rng_stream(6, "s");
    int idx[100], seen[100] = {0};
    for (int i = 0; i < 100; i++) idx[i] = i;
    gm_rng_shuffle(&r, idx, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++) cr_assert_eq(seen[i], 1);
    cr_assert_gt(moved, 80);
}

/* Box-Muller gives N(0, 1): the empirical CDF matches Phi within sampling
 * error at points across the range, tails included (1e6 draws: standard
 * error <= 5e-4). */
Test(rng, fill_normal_follows_the_normal_cdf) {
    enum { N = 1000000 };
    float *x = malloc(N * sizeof *x);
    gm_rng r = gm_rng_stream(8, "cdf");
    gm_rng_fill_normal(&r, x, N);
    const double at[] = {-4.0, -3.5, -2.5, -1.5, -0.7, -0.2, 0.0,
                         0.3,  1.1,  2.0,  3.0,  3.6,  4.2};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        long below = 0;
        for (int i = 0; i < N; i++) below += x[i] < at[k];
        double phi = 0.5 * erfc(-at[k] / sqrt(2.0));
        double se = sqrt(phi * (1 - phi) / N);
        cr_assert_float_eq((double)below / N, phi, 5 * se + 1e-6,
                           "P(x < %g) = %g, Phi = %g", at[k],
                           (double)below / N, phi);
    }
    free(x);
}

/* Box-Muller's pairs: out[i] and out[i + 128] of each 256-value block are
 * r cos t and r sin t of one draw. Normal and independent, they must have
 * a uniform angle (each quadrant's sin/cos mapping checked) and a squared
 * radius with P(r^2 > s) = e^(-s/2) (the log and the tail). */
Test(rng, fill_normal_pairs_have_uniform_angle_and_exponential_radius) {
    enum { N = 1 << 20, HALF = 128, BINS = 16 };
    float *x = malloc(N * sizeof *x);
    gm_rng r = gm_rng_stream(9, "pairs");
    gm_rng_fill_normal(&r, x, N);
    const double s_at[] = {0.05, 0.5, 2.0, 6.0, 12.0, 18.0};
    enum { NS = sizeof s_at / sizeof s_at[0] };
    long bins[BINS] = {0}, above[NS] = {0};
    const long pairs = N / 2;
    for (long b = 0; b < N; b += 2 * HALF) {
        for (int i = 0; i < HALF; i++) {
            double c = x[b + i], s = x[b + HALF + i];
            double t = atan2(s, c) + M_PI; /* [0, 2 pi] */
            int k = (int)(t / (2 * M_PI) * BINS);
            bins[k < BINS ? k : BINS - 1]++;
            for (int j = 0; j < NS; j++) above[j] += c * c + s * s > s_at[j];
        }
    }
    free(x);
    double per_bin = (double)pairs / BINS;
    double se_bin = sqrt(per_bin * (1 - 1.0 / BINS));
    for (int k = 0; k < BINS; k++)
        cr_assert_float_eq(bins[k], per_bin, 5 * se_bin, "angle bin %d: %ld", k,
                           bins[k]);
    for (int j = 0; j < NS; j++) {
        double p = exp(-s_at[j] / 2), se = sqrt(p * (1 - p) / pairs);
        cr_assert_float_eq((double)above[j] / pairs, p, 5 * se + 1e-7,
                           "P(r^2 > %g) = %g, expected %g", s_at[j],
                           (double)above[j] / pairs, p);
    }
}

/* Values drawn by neighbouring SIMD lanes, and by one lane at consecutive
 * steps, are uncorrelated (1e6 draws: standard error 1e-3). */
Test(rng, fill_normal_lanes_are_uncorrelated) {
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof *x);
    gm_rng r = gm_rng_stream(10, "lanes");
    gm_rng_fill_normal(&r, x, N);
    const int lags[] = {1, 7, 8, 16, 128, 256};
    for (size_t k = 0; k < sizeof lags / sizeof lags[0]; k++) {
        double sxy = 0;
        for (int i = 0; i + lags[k] < N; i++)
            sxy += (double)x[i] * x[i + lags[k]];
        double corr = sxy / (N - lags[k]);
        cr_assert_float_eq(corr, 0.0, 5e-3, "lag %d: %g", lags[k], corr);
    }
    free(x);
}

/* A fill of n values is the start of a longer fill from the same state,
 * and leaves the generator in the same state whatever n is. */
Test(rng, fill_normal_is_a_prefix_of_a_longer_fill) {
    float a[700], b[300], c[1];
    gm_rng ra = gm_rng_stream(11, "p"), rb = ra, rc = ra;
    gm_rng_fill_normal(&ra, a, 700);
    gm_rng_fill_normal(&rb, b, 300);
    gm_rng_fill_normal(&rc, c, 1);
    for (int i = 0; i < 300; i++) cr_assert_eq(a[i], b[i], "value %d", i);
    cr_assert_eq(a[0], c[0]);
    uint64_t next = gm_rng_u64(&ra);
    cr_assert_eq(next, gm_rng_u64(&rb));
    cr_assert_eq(next, gm_rng_u64(&rc));
}
