/* Branch-free float approximations of exp, log, log1p, sin and cos on
 * the ranges the hot loops need. They make no call and take no branch, so
 * loops using them vectorise; each is tested against libm in
 * tests/test_fastmath.c. */
#ifndef GM_FASTMATH_H
#define GM_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 0 (the e^-|x| of sigmoid, softplus and BCE), by
 * Cephes' range reduction and polynomial: within 1 ulp for x >= -87, and
 * e^-87 (1.6e-38) below, where it only ever meets a sum with 1. No call
 * and no branch, so loops using it vectorise. */
static inline float gm_exp_nonpos(float x) {
    x = x < -87.0f ? -87.0f : x; /* not fmaxf: it would not vectorise */
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* rint */
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* 2^n, n >= -126 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log(1 + e) for e in [0, 1] (the softplus and BCE term log1p(exp(-|x|))),
 * as 2 atanh(e / (2 + e)) by its series: within 2 ulp of log1pf, with no
 * call and no branch, so loops using it vectorise. */
static inline float gm_log1p_unit(float e) {
    float s = e / (2.0f + e), s2 = s * s; /* s <= 1/3 */
    float p = 1.0f / 17;
    p = p * s2 + 1.0f / 15;
    p = p * s2 + 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* log(u) for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), and
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its series
 * (Cephes' split of log 2). Within 2 ulp; no call, no branch. */
static inline float gm_log_unit(float u) {
    uint32_t b;
    memcpy(&b, &u, sizeof b);
    int e = (int)(b >> 23) - 127;
    b = (b & 0x007fffffu) | 0x3f800000u; /* m in [1, 2) */
    float m;
    memcpy(&m, &b, sizeof m);
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    e += big;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    float fe = (float)e;
    return fe * -2.12194440e-4f + 2.0f * s * p + fe * 0.693359375f;
}

/* sin and cos of 2 pi u for u in [0, 1] with 24 significant bits (a
 * uniform draw): u - n/4 for the nearest quarter turn n is exact, and
 * Cephes' sinf/cosf polynomials on [-pi/4, pi/4] do the rest, within
 * 2e-7 absolutely. No call, no branch. */
static inline void gm_sincos_turn(float u, float *sin_out, float *cos_out) {
    int n = (int)(u * 4.0f + 0.5f); /* 0..4 */
    float a = (u - (float)n * 0.25f) * 6.28318531f, a2 = a * a;
    float sn = -1.9515295891e-4f;
    sn = sn * a2 + 8.3321608736e-3f;
    sn = sn * a2 - 1.6666654611e-1f;
    sn = sn * a2 * a + a;
    float cs = 2.443315711809948e-5f;
    cs = cs * a2 - 1.388731625493765e-3f;
    cs = cs * a2 + 4.166664568298827e-2f;
    cs = cs * a2 * a2 - 0.5f * a2 + 1.0f;
    /* quarter n: (cos, sin) = (cs, sn), (-sn, cs), (-cs, -sn), (sn, -cs) */
    float c = n & 1 ? sn : cs, s = n & 1 ? cs : sn;
    *cos_out = (n + 1) & 2 ? -c : c;
    *sin_out = n & 2 ? -s : s;
}

#endif
