/* The branch-free approximations of framework/src/simd/fastmath.h against libm
 * in double precision, over the whole range each is used on. */
#include <criterion/criterion.h>
#include <math.h>

#include "simd/fastmath.h"

/* Within 1 ulp of exp for x in [-87, 0]; below, e^-87 (see the header). */
Test(fastmath, exp_nonpos_matches_exp) {
    for (int i = 0; i <= 870000; i++) {
        float x = -(float)i / 10000.0f;
        double want = exp((double)x);
        cr_assert_float_eq(gm_exp_nonpos(x), want, 1.2e-7 * want, "exp(%g)", x);
    }
    cr_assert_float_eq(gm_exp_nonpos(-1000.0f), exp(-87.0), 1e-44);
}

/* The series behind softplus and BCE stays within 2 ulp of log1p over its
 * whole domain [0, 1], the tiny values included. */
Test(fastmath, log1p_unit_matches_log1p) {
    for (int i = 0; i <= 100000; i++) {
        float e = (float)i / 100000.0f;
        double want = log1p((double)e);
        cr_assert_float_eq(gm_log1p_unit(e), want, 2.5e-7 * want + 1e-30,
                           "log1p(%g)", e);
    }
    for (int k = 1; k < 120; k++) {
        float e = ldexpf(1.0f, -k);
        double want = log1p((double)e);
        cr_assert_float_eq(gm_log1p_unit(e), want, 2.5e-7 * want, "2^-%d", k);
    }
}

/* log on (0, 1], where Box-Muller's u1 lives (down to 2^-32): within 2 ulp,
 * across binades and next to 1 where the result is tiny. */
Test(fastmath, log_unit_matches_log) {
    for (int i = 1; i <= 1000000; i++) {
        float u = (float)i / 1000000.0f;
        double want = log((double)u);
        cr_assert_float_eq(gm_log_unit(u), want, 2.5e-7 * fabs(want),
                           "log(%.9g)", u);
    }
    for (int k = 0; k <= 32; k++) {
        float u = ldexpf(1.0f, -k);
        cr_assert_float_eq(gm_log_unit(u), -k * log(2.0), 2.5e-7 * k + 1e-30,
                           "log(2^-%d)", k);
        float below = nextafterf(u, 0.0f), above = nextafterf(u, 2.0f);
        cr_assert_float_eq(gm_log_unit(below), log((double)below),
                           2.5e-7 * fabs(log((double)below)), "below 2^-%d", k);
        if (k > 0)
            cr_assert_float_eq(gm_log_unit(above), log((double)above),
                               2.5e-7 * fabs(log((double)above)),
                               "above 2^-%d", k);
    }
}

/* sin and cos of 2 pi u over a whole turn, every quarter's mapping and the
 * quarter boundaries included. */
Test(fastmath, sincos_turn_matches_sin_and_cos) {
    for (int i = 0; i <= 1 << 20; i++) {
        float u = (float)i / (float)(1 << 20), s, c;
        gm_sincos_turn(u, &s, &c);
        double t = 2.0 * M_PI * (double)u;
        cr_assert_float_eq(s, sin(t), 2.5e-7, "sin(2 pi %.9g)", u);
        cr_assert_float_eq(c, cos(t), 2.5e-7, "cos(2 pi %.9g)", u);
    }
}
