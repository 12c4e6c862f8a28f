/* name_index.h: which position of a collection first holds a name, in
 * constant time, so that duplicate checks over a document's keys or a
 * sweep's values stay linear however many there are (100,000 keys of one
 * mapping took 52 s compared pairwise). Internal to config/. */
#ifndef GM_CONFIG_NAME_INDEX_H
#define GM_CONFIG_NAME_INDEX_H

#include <stddef.h>

typedef struct gm_name_entry gm_name_entry;

/* Names of any number of owners (the mappings of a document, say); the
 * names are borrowed, not copied, and must outlive the index. A zeroed
 * index is empty and ready. */
typedef struct gm_name_index {
    gm_name_entry *slot;
    size_t cap, n;
} gm_name_index;

/* What gm_name_index_add returns besides an earlier position. */
enum { GM_NAME_NEW = -1, GM_NAME_NOMEM = -2 };

/* Records `name` at position `pos` of `owner` (compared by address) and
 * returns GM_NAME_NEW; if the owner already has that name, returns its
 * first position and records nothing; GM_NAME_NOMEM if out of memory. */
int gm_name_index_add(gm_name_index *x, const void *owner, const char *name,
                      int pos);

/* Frees the index's table and empties it. */
void gm_name_index_clear(gm_name_index *x);

#endif
