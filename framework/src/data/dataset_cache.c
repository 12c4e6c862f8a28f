/* One load per dataset and process (dataset_cache.h). */
#include "data/dataset_cache.h"

#include <pthread.h>
#include <stdlib.h>

#include "data/dataset_kinds.h"

typedef struct entry {
    uint64_t seed; /* per-seed kinds; 0 for the others */
    gm_dataset *data;
} entry;

struct gm_dataset_cache {
    gm_dataset_spec spec;
    bool per_seed;
    pthread_mutex_t lock;
    entry *entries;
    int n, cap;
};

gm_dataset_cache *gm_dataset_cache_create(const gm_dataset_spec *spec) {
    gm_dataset_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->spec = *spec;
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(spec->name);
    c->per_seed = kind && kind->per_seed;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

/* The entry of `seed`, or NULL. Under the lock. */
static entry *find(gm_dataset_cache *c, uint64_t seed) {
    for (int i = 0; i < c->n; i++)
        if (c->entries[i].seed == seed) return &c->entries[i];
    return NULL;
}

/* Loads the dataset of a run with `seed` into a new entry `key`. Under
 * the lock. */
static const gm_dataset *load(gm_dataset_cache *c, uint64_t key,
                              uint64_t seed, gm_error *err) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 4;
        entry *grown = realloc(c->entries, (size_t)cap * sizeof *grown);
        if (!grown) {
            gm_error_set(err, GM_ERR_NOMEM, "out of memory");
            return NULL;
        }
        c->entries = grown;
        c->cap = cap;
    }
    gm_rng stream = gm_rng_stream(seed, "data");
    gm_dataset *d = gm_dataset_create(&c->spec, &stream, err);
    if (!d) return NULL;
    c->entries[c->n++] = (entry){key, d};
    return d;
}

const gm_dataset *gm_dataset_cache_get(gm_dataset_cache *c, uint64_t seed,
                                       gm_error *err) {
    uint64_t key = c->per_seed ? seed : 0;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    const gm_dataset *d = e ? e->data : load(c, key, seed, err);
    pthread_mutex_unlock(&c->lock);
    return d;
}

int gm_dataset_cache_loads(const gm_dataset_cache *c) { return c->n; }

void gm_dataset_cache_free(gm_dataset_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++)
        gm_dataset_free(c->entries[i].data);
    free(c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
