/* gm/rng.h: the engine's seeded random number generator.
 *
 * xoshiro256** (Blackman and Vigna) seeded through SplitMix64. One experiment
 * seed is split into named streams ("data", "init", "noise", ...) so that
 * each consumer draws from its own sequence and a run is repeatable from its
 * seed. There is no global generator: every gm_rng is a value its owner
 * keeps. */
#ifndef GM_RNG_H
#define GM_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "gm/api.h"

GM_API_BEGIN

typedef struct gm_rng {
    uint64_t s[4];
    double spare_normal; /* second Box-Muller draw, valid if has_spare */
    int has_spare;
} gm_rng;

/* Seeds r from a 64-bit seed. */
void gm_rng_seed(gm_rng *r, uint64_t seed);

/* A stream named `name` derived from `seed`: different names give
 * independent sequences, the same name and seed the same sequence. */
gm_rng gm_rng_stream(uint64_t seed, const char *name);

/* A child stream split off `parent` (advances the parent once). */
gm_rng gm_rng_split(gm_rng *parent);

/* Next raw 64-bit output. */
uint64_t gm_rng_u64(gm_rng *r);

/* Uniform double in [0, 1) with 53 random bits. */
double gm_rng_uniform(gm_rng *r);

/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t gm_rng_below(gm_rng *r, uint64_t n);

/* Standard normal draw (Box-Muller, double precision). */
double gm_rng_normal(gm_rng *r);

/* Fills out[0..n) with N(0, 1) draws: Box-Muller in float on 8 xoshiro256**
 * generators run in SIMD lanes, seeded from r (which advances by 8 draws
 * whatever n is). A fill of n values is the start of a longer fill from
 * the same state. |x| <= 6.66 (the normal's mass beyond: 3e-11). */
void gm_rng_fill_normal(gm_rng *r, float *out, size_t n);

/* Fills out[0..n) with uniform draws in [lo, hi). */
void gm_rng_fill_uniform(gm_rng *r, float *out, size_t n, float lo, float hi);

/* Fisher-Yates shuffle of idx[0..n). */
void gm_rng_shuffle(gm_rng *r, int *idx, size_t n);

GM_API_END

#endif
