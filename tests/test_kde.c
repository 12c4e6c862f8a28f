/* The KL estimators at the sample sizes gm uses (2500 model samples, 2500
 * data points), against cases with a known KL. The tolerances are the
 * estimator's measured bias plus noise, as stated in docs/metrics.md. */
#include <criterion/criterion.h>
#include <math.h>

#include "gm/kde.h"
#include "gm/rng.h"

enum { S = 2500 };

typedef struct gauss2 {
    double mx, my, s;
} gauss2;

static double log_gauss2(const float *x, const void *ctx) {
    const gauss2 *g = ctx;
    double dx = x[0] - g->mx, dy = x[1] - g->my;
    return -(dx * dx + dy * dy) / (2 * g->s * g->s) -
           log(2 * M_PI * g->s * g->s);
}

static void draw_gauss2(gm_rng *r, const gauss2 *g, float *out, int n) {
    for (int i = 0; i < n; i++) {
        out[2 * i] = (float)(g->mx + g->s * gm_rng_normal(r));
        out[2 * i + 1] = (float)(g->my + g->s * gm_rng_normal(r));
    }
}

/* KL(N(a, I) || N(b, I)) = |a - b|^2 / 2 = 0.125 both ways for |a-b| = .5 */
Test(kde, two_gaussians) {
    static float model[2 * S], data[2 * S];
    gm_rng r = gm_rng_stream(1, "kde");
    gauss2 p = {0, 0, 1}, q = {0.5, 0, 1};
    draw_gauss2(&r, &p, data, S);
    draw_gauss2(&r, &q, model, S);
    gm_kl_estimate e = gm_kl_estimate_kde(model, S, data, S, 2, log_gauss2, &p);
    cr_assert_float_eq(e.forward, 0.125, 0.06, "forward %g", e.forward);
    cr_assert_float_eq(e.reverse, 0.125, 0.06, "reverse %g", e.reverse);
    cr_assert(e.bandwidth > 0.1 && e.bandwidth < 1.0, "h %g", e.bandwidth);
}

Test(kde, identical_distributions_give_near_zero) {
    static float model[2 * S], data[2 * S];
    gm_rng r = gm_rng_stream(2, "kde");
    gauss2 p = {1, -1, 0.3};
    draw_gauss2(&r, &p, data, S);
    draw_gauss2(&r, &p, model, S);
    gm_kl_estimate e = gm_kl_estimate_kde(model, S, data, S, 2, log_gauss2, &p);
    cr_assert_float_eq(e.forward, 0.0, 0.05, "forward %g", e.forward);
    cr_assert_float_eq(e.reverse, 0.0, 0.05, "reverse %g", e.reverse);
}

/* The ring of 8 (radius 2, std 0.02) and a model on 6 of its modes:
 * KL(model || data) = log(8 / 6); the forward KL is infinite in truth and
 * large here. */
typedef struct ring {
    int k;
    double radius, std;
} ring;

static double log_ring(const float *x, const void *ctx) {
    const ring *g = ctx;
    double terms[16], m = -INFINITY, s = 0;
    for (int k = 0; k < g->k; k++) {
        double cx = g->radius * cos(2 * M_PI * k / g->k);
        double cy = g->radius * sin(2 * M_PI * k / g->k);
        double d2 = (x[0] - cx) * (x[0] - cx) + (x[1] - cy) * (x[1] - cy);
        terms[k] = -d2 / (2 * g->std * g->std);
        m = fmax(m, terms[k]);
    }
    for (int k = 0; k < g->k; k++) s += exp(terms[k] - m);
    return m + log(s / g->k) - log(2 * M_PI * g->std * g->std);
}

static void draw_ring(gm_rng *r, const ring *g, int modes_used, float *out,
                      int n) {
    for (int i = 0; i < n; i++) {
        int k = (int)gm_rng_below(r, (uint64_t)modes_used);
        out[2 * i] = (float)(g->radius * cos(2 * M_PI * k / g->k) +
                             g->std * gm_rng_normal(r));
        out[2 * i + 1] = (float)(g->radius * sin(2 * M_PI * k / g->k) +
                                 g->std * gm_rng_normal(r));
    }
}

Test(kde, ring_with_dropped_modes) {
    static float model[2 * S], data[2 * S];
    gm_rng r = gm_rng_stream(3, "kde");
    ring g = {8, 2.0, 0.02};
    draw_ring(&r, &g, 8, data, S);
    draw_ring(&r, &g, 6, model, S);
    gm_kl_estimate e = gm_kl_estimate_kde(model, S, data, S, 2, log_ring, &g);
    cr_assert_float_eq(e.reverse, log(8.0 / 6.0), 0.06, "reverse %g",
                       e.reverse);
    cr_assert_gt(e.forward, 10.0, "forward %g: dropped modes cost a lot",
                 e.forward);
    cr_assert(e.bandwidth < 0.05, "h %g follows the modes' width", e.bandwidth);
}

Test(kde, ring_against_itself) {
    static float model[2 * S], data[2 * S];
    gm_rng r = gm_rng_stream(4, "kde");
    ring g = {8, 2.0, 0.02};
    draw_ring(&r, &g, 8, data, S);
    draw_ring(&r, &g, 8, model, S);
    gm_kl_estimate e = gm_kl_estimate_kde(model, S, data, S, 2, log_ring, &g);
    cr_assert_float_eq(e.reverse, 0.0, 0.06, "reverse %g", e.reverse);
    cr_assert_float_eq(e.forward, 0.0, 0.06, "forward %g", e.forward);
}

Test(kde, log_density_of_one_kernel) {
    const float s[2] = {1.0f, 2.0f}, x[2] = {1.5f, 2.0f};
    /* N((1.5, 2); (1, 2), 0.5^2 I) = exp(-0.5) / (2 pi 0.25) */
    double want = -0.5 - log(2 * M_PI * 0.25);
    cr_assert_float_eq(gm_kde_log_density(s, 1, 2, 0.5, x, -1), want, 1e-12);
}
