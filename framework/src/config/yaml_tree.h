/* yaml_tree.h: a YAML document as a tree of nodes that remember where they
 * came from (file position, or the --set override that made them), so the
 * validator can name the place of every error. Internal to config/. */
#ifndef GM_CONFIG_YAML_TREE_H
#define GM_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/status.h"

typedef enum gm_ynode_kind { GM_YSCALAR, GM_YSEQ, GM_YMAP } gm_ynode_kind;

typedef struct gm_ynode gm_ynode;
struct gm_ynode {
    gm_ynode_kind kind;
    int line, col;   /* 1-based start in the file */
    const char *set; /* the --set text that made this node, or NULL */
    char *text;      /* scalars: the value */
    bool plain;      /* scalars: unquoted, so it may be a number/bool/null */
    int style;       /* scalars: yaml_scalar_style_t; others: flow if 1 */
    /* Sequences: the items. Mappings: key, value, key, value, ... */
    gm_ynode **child;
    int n, cap;
};

/* Where a document comes from, for node origins and error messages:
 * `source` is the file name; `set` is non-NULL for an override's value,
 * whose errors then read "--set <set>: ..." instead of file:line:col.
 * `base_path` is prefixed to key paths in errors (may be ""). */
typedef struct gm_ysource {
    const char *source;
    const char *set;
    const char *base_path;
} gm_ysource;

/* Parses one YAML document of `len` bytes. *out is NULL for an empty
 * document. Rejects syntax errors (with libyaml's problem and position),
 * several documents, anchors, aliases, tags, non-scalar keys, duplicate
 * keys and NUL characters in scalars. */
gm_status gm_ytree_parse(const char *text, size_t len, const gm_ysource *src,
                         gm_ynode **out, gm_error *err);

/* A new node with no children; NULL if out of memory. */
gm_ynode *gm_ynode_new(gm_ynode_kind kind, int line, int col, const char *set);

/* Appends `child` (taking ownership); false if out of memory, in which
 * case the caller still owns `child`. */
bool gm_ynode_append(gm_ynode *parent, gm_ynode *child);

/* A deep copy of a node, positions and origins included; NULL if out of
 * memory. */
gm_ynode *gm_ynode_clone(const gm_ynode *node);

/* Frees a node and everything under it (NULL is fine). */
void gm_ynode_free(gm_ynode *node);

/* Mapping accessors: number of pairs, i-th key and value. */
static inline int gm_ymap_len(const gm_ynode *m) { return m->n / 2; }
static inline gm_ynode *gm_ymap_key(const gm_ynode *m, int i) {
    return m->child[2 * i];
}
static inline gm_ynode *gm_ymap_val(const gm_ynode *m, int i) {
    return m->child[2 * i + 1];
}

/* The index of `key` in mapping `m`, or -1. */
int gm_ymap_find(const gm_ynode *m, const char *key);

/* True for a plain scalar that YAML reads as null ("", "~", "null"). */
bool gm_ynode_is_null(const gm_ynode *node);

/* Writes the tree back as YAML into a new string (*out, caller frees),
 * preceded by `header` verbatim (may be NULL). */
gm_status gm_ytree_emit(const gm_ynode *root, const char *header, char **out,
                        gm_error *err);

#endif
