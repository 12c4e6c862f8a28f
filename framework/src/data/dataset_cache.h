/* The datasets of one experiment in one process, each loaded once and
 * shared read-only by every run (and every --jobs thread) that trains on
 * it: a Stacked Fashion-MNIST of 60,000 rows is 658 MB, which each run
 * used to load for itself. A kind whose rows are drawn from the run's
 * data stream (ring, grid: dataset_kinds.h's per_seed) has one dataset
 * per seed, shared by the models of that seed; the others one in all.
 * Datasets stay until the cache is freed. Internal to libgm. */
#ifndef GM_DATASET_CACHE_H
#define GM_DATASET_CACHE_H

#include <stdint.h>

#include "gm/data.h"

typedef struct gm_dataset_cache gm_dataset_cache;

/* A cache for the datasets `spec` describes (copied); NULL if out of
 * memory. */
gm_dataset_cache *gm_dataset_cache_create(const gm_dataset_spec *spec);

/* The dataset of a run with seed `seed` (its rows drawn, for a per-seed
 * kind, from gm_rng_stream(seed, "data")), loaded at the first call;
 * NULL with err set if loading fails. Safe to call from several threads. */
const gm_dataset *gm_dataset_cache_get(gm_dataset_cache *c, uint64_t seed,
                                       gm_error *err);

/* How many datasets the cache has loaded so far. */
int gm_dataset_cache_loads(const gm_dataset_cache *c);

/* Frees the cache and its datasets (NULL: nothing). */
void gm_dataset_cache_free(gm_dataset_cache *c);

#endif
