/* A hash table of (owner, name) -> first position: open addressing with
 * linear probing, at most half full. */
#include "config/name_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gm_name_entry {
    const void *owner; /* NULL: a free slot */
    const char *name;
    size_t hash;
    int pos;
};

/* FNV-1a over the name, then the owner's address mixed in. */
static size_t hash_of(const void *owner, const char *name) {
    uint64_t h = 1469598103934665603u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    h ^= (uint64_t)(uintptr_t)owner;
    h *= 0x9e3779b97f4a7c15u;
    return (size_t)(h ^ (h >> 29));
}

/* The slot of (owner, name), or the free slot where it belongs. */
static gm_name_entry *find(const gm_name_index *x, const void *owner,
                           const char *name, size_t hash) {
    for (size_t i = hash & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        gm_name_entry *e = &x->slot[i];
        if (!e->owner || (e->hash == hash && e->owner == owner &&
                          strcmp(e->name, name) == 0))
            return e;
    }
}

static int grow(gm_name_index *x) {
    size_t cap = x->cap ? 2 * x->cap : 64;
    gm_name_index bigger = {calloc(cap, sizeof *bigger.slot), cap, x->n};
    if (!bigger.slot) return GM_NAME_NOMEM;
    for (size_t i = 0; i < x->cap; i++)
        if (x->slot[i].owner)
            *find(&bigger, x->slot[i].owner, x->slot[i].name,
                  x->slot[i].hash) = x->slot[i];
    free(x->slot);
    *x = bigger;
    return GM_NAME_NEW;
}

int gm_name_index_add(gm_name_index *x, const void *owner, const char *name,
                      int pos) {
    if (2 * (x->n + 1) > x->cap && grow(x) == GM_NAME_NOMEM)
        return GM_NAME_NOMEM;
    size_t hash = hash_of(owner, name);
    gm_name_entry *e = find(x, owner, name, hash);
    if (e->owner) return e->pos;
    *e = (gm_name_entry){owner, name, hash, pos};
    x->n++;
    return GM_NAME_NEW;
}

void gm_name_index_clear(gm_name_index *x) {
    free(x->slot);
    memset(x, 0, sizeof *x);
}
