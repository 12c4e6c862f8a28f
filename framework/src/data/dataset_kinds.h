/* The built-in dataset kinds, one row each (dataset_kinds.c), read by
 * everything that needs to know a kind: the configuration (its keys, their
 * defaults and ranges, what a spec says of the data before it is loaded),
 * gm_dataset_create (the loader), `gm list datasets` and the run file's
 * /dataset attributes. Adding a kind is one row there plus its loader.
 * Internal to libgm. */
#ifndef GM_DATASET_KINDS_H
#define GM_DATASET_KINDS_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/data.h"

/* Kinds, and keys of a kind besides `name`. */
#define GM_DATASET_KINDS_MAX 16
#define GM_DATASET_KEYS_MAX 4

typedef enum gm_dataset_key_type {
    GM_DATASET_KEY_INT,    /* an int field */
    GM_DATASET_KEY_LONG,   /* a long field */
    GM_DATASET_KEY_NUMBER, /* a double field */
    GM_DATASET_KEY_STRING, /* a char array field */
} gm_dataset_key_type;

/* One YAML key of a kind: the gm_dataset_spec field it sets and the values
 * it takes. Its default is that field of the kind's `defaults`. */
typedef struct gm_dataset_key {
    const char *name;
    gm_dataset_key_type type;
    size_t offset, size; /* of the field in gm_dataset_spec */
    double lo, hi;       /* numbers: the range, lo excluded when lo_open */
    bool lo_open;
    bool required;     /* strings: the key has no default */
    bool is_file;      /* strings: a path, relative to the experiment file */
    bool in_run_file;  /* also an attribute of the run's /dataset (a string
                          key when it is not empty) */
} gm_dataset_key;

typedef gm_status (*gm_dataset_load_fn)(gm_dataset *d,
                                        const gm_dataset_spec *spec,
                                        gm_rng *stream, gm_error *err);

typedef struct gm_dataset_kind_row {
    gm_dataset_kind info; /* name and summary; first, see dataset_kinds.c */
    gm_dataset_key keys[GM_DATASET_KEYS_MAX]; /* in the order read */
    int n_keys;
    gm_dataset_spec defaults; /* the spec before its keys are read */
    int dim;                  /* of one point; 0: only its file knows */
    /* What the spec says before loading; NULL: only the files know. */
    int (*classes)(const gm_dataset_spec *spec); /* labels are 0..K-1 */
    long (*rows)(const gm_dataset_spec *spec);   /* of the train split */
    bool has_test_split; /* false: held-out rows are training rows */
    /* Its rows are drawn from the run's data stream (gm_dataset_create's
     * data_stream): each seed has a dataset of its own. */
    bool per_seed;
    gm_dataset_load_fn load;
} gm_dataset_kind_row;

/* The i-th kind, or NULL when i is past the last. */
const gm_dataset_kind_row *gm_dataset_kind_row_at(int i);

/* The kind called `name`, or NULL. */
const gm_dataset_kind_row *gm_dataset_kind_find(const char *name);

/* The value of the number key k of spec, as a double. */
double gm_dataset_key_number(const gm_dataset_spec *spec,
                             const gm_dataset_key *k);

#endif
