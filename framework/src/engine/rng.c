/* xoshiro256** 1.0 (Blackman and Vigna, public domain reference algorithm),
 * seeded with SplitMix64 as its authors recommend. */
#include "gm/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd/fastmath.h"
#include "simd/multiversion.h"

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

/* Normal noise comes from NORMAL_LANES xoshiro256** generators run side by
 * side, one per SIMD lane, each seeded from r at the start of a fill (r
 * advances by NORMAL_LANES draws): the lanes' updates are independent, so
 * the compiler turns them into vector shifts and xors, where a single
 * generator is a chain of dependent scalar steps. */
enum { NORMAL_LANES = 8, NORMAL_BLOCK = 256 }; /* block: outputs per pass */
typedef uint64_t u64_lanes __attribute__((vector_size(NORMAL_LANES * 8)));

typedef struct normal_lanes {
    uint64_t s[4][NORMAL_LANES];
} normal_lanes;

static void normal_lanes_seed(normal_lanes *z, gm_rng *r) {
    for (int l = 0; l < NORMAL_LANES; l++) {
        gm_rng lane = gm_rng_split(r);
        for (int k = 0; k < 4; k++) z->s[k][l] = lane.s[k];
    }
}

/* NORMAL_BLOCK / 2 raw outputs, lane l's t-th at bits[t * NORMAL_LANES +
 * l]. x * 5 and x * 9 are written as shifts and adds: 64-bit lane
 * multiplies need AVX-512DQ. */
GM_MULTIVERSION
static void normal_lanes_next(normal_lanes *z, uint64_t *bits) {
    u64_lanes s0, s1, s2, s3;
    memcpy(&s0, z->s[0], sizeof s0);
    memcpy(&s1, z->s[1], sizeof s1);
    memcpy(&s2, z->s[2], sizeof s2);
    memcpy(&s3, z->s[3], sizeof s3);
    for (int t = 0; t < NORMAL_BLOCK / 2 / NORMAL_LANES; t++) {
        u64_lanes x = s1 + (s1 << 2);
        x = (x << 7) | (x >> 57);
        x = x + (x << 3);
        memcpy(bits + t * NORMAL_LANES, &x, sizeof x);
        u64_lanes u = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= u;
        s3 = (s3 << 45) | (s3 >> 19);
    }
    memcpy(z->s[0], &s0, sizeof s0);
    memcpy(z->s[1], &s1, sizeof s1);
    memcpy(z->s[2], &s2, sizeof s2);
    memcpy(z->s[3], &s3, sizeof s3);
}

/* Box-Muller on one block: draw i gives u1 in (0, 1] from its top 31 bits
 * and u2 in [0, 1) from 24 low bits, and out[i] = r cos(2 pi u2),
 * out[i + NORMAL_BLOCK / 2] = r sin(2 pi u2) with r = sqrt(-2 log u1).
 * u1 >= 2^-32 caps |x| at 6.66: the normal's mass beyond is 3e-11. */
GM_MULTIVERSION
static void box_muller(const uint64_t *restrict bits, float *restrict out) {
    const int half = NORMAL_BLOCK / 2;
    for (int i = 0; i < half; i++) {
        float u1 = ((float)(int32_t)(bits[i] >> 33) + 0.5f) * 0x1p-31f;
        float u2 = (float)(int32_t)((uint32_t)bits[i] >> 8) * 0x1p-24f;
        float r2 = -2.0f * gm_log_unit(u1);
        float r = sqrtf(r2 > 0.0f ? r2 : 0.0f);
        float c, s;
        gm_sincos_turn(u2, &s, &c);
        out[i] = r * c;
        out[i + half] = r * s;
    }
}

void gm_rng_fill_normal(gm_rng *r, float *out, size_t n) {
    normal_lanes lanes;
    normal_lanes_seed(&lanes, r);
    uint64_t bits[NORMAL_BLOCK / 2];
    size_t done = 0;
    for (; done + NORMAL_BLOCK <= n; done += NORMAL_BLOCK) {
        normal_lanes_next(&lanes, bits);
        box_muller(bits, out + done);
    }
    if (done < n) {
        float last[NORMAL_BLOCK];
        normal_lanes_next(&lanes, bits);
        box_muller(bits, last);
        memcpy(out + done, last, (n - done) * sizeof *out);
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
