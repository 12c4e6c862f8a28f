/* xoshiro256** 1.0 (Blackman and Vigna, public domain reference algorithm),
 * seeded with SplitMix64 as its authors recommend. */
#include "gm/rng.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void gm_rng_seed(gm_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare_normal = 0.0;
}

/* FNV-1a: a stable hash so that stream names map to fixed seeds. */
static uint64_t hash_name(const char *name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

gm_rng gm_rng_stream(uint64_t seed, const char *name) {
    gm_rng r;
    uint64_t x = seed;
    uint64_t mixed = splitmix64(&x) ^ hash_name(name ? name : "");
    gm_rng_seed(&r, mixed);
    return r;
}

gm_rng gm_rng_split(gm_rng *parent) {
    gm_rng r;
    gm_rng_seed(&r, gm_rng_u64(parent));
    return r;
}

uint64_t gm_rng_u64(gm_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gm_rng_uniform(gm_rng *r) {
    return (double)(gm_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t gm_rng_below(gm_rng *r, uint64_t n) {
    /* Rejection of the top partial range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = gm_rng_u64(r);
    } while (x >= limit);
    return x % n;
}

double gm_rng_normal(gm_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare_normal;
    }
    double u1;
    do {
        u1 = gm_rng_uniform(r);
    } while (u1 <= 0.0);
    double u2 = gm_rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * M_PI * u2;
    r->spare_normal = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

#include "ziggurat_tables.h"

/* The ziggurat's rare path: the base layer's tail beyond R, or a point in
 * a layer's wedge accepted against the density. */
static float zig_slow(gm_rng *r, int32_t j, int i) {
    for (;;) {
        if (i == 0) {
            double x, y;
            do {
                x = -log(1.0 - gm_rng_uniform(r)) / GM_ZIG_R;
                y = -log(1.0 - gm_rng_uniform(r));
            } while (y + y < x * x);
            return (float)(j > 0 ? GM_ZIG_R + x : -GM_ZIG_R - x);
        }
        float x = (float)j * gm_zig_w[i];
        float u = (float)gm_rng_uniform(r);
        if (gm_zig_f[i] + u * (gm_zig_f[i - 1] - gm_zig_f[i]) <
            expf(-0.5f * x * x))
            return x;
        uint64_t bits = gm_rng_u64(r);
        j = (int32_t)(uint32_t)bits;
        i = (int)(bits >> 57);
        if ((uint32_t)abs(j) < gm_zig_k[i]) return (float)j * gm_zig_w[i];
    }
}

/* The ziggurat method (Marsaglia and Tsang 2000) with the layer index and
 * the value taken from separate bits of one 64-bit draw (which removes the
 * original's correlation between them). About 99% of draws are one table
 * lookup and one multiply: noise nodes fill hundreds of thousands of values
 * a step. gm_rng_normal keeps double-precision Box-Muller. */
void gm_rng_fill_normal(gm_rng *r, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = gm_rng_u64(r);
        int32_t j = (int32_t)(uint32_t)bits;
        int layer = (int)(bits >> 57);
        out[i] = (uint32_t)abs(j) < gm_zig_k[layer] ? (float)j * gm_zig_w[layer]
                                                    : zig_slow(r, j, layer);
    }
}

void gm_rng_fill_uniform(gm_rng *r, float *out, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)gm_rng_uniform(r);
}

void gm_rng_shuffle(gm_rng *r, int *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gm_rng_below(r, i);
        int t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
