/* config_internal.h: what the parts of the configuration reader share:
 * error formatting, key paths, typed reads of tree nodes with their
 * checks, and the sections' validators. Internal to config/. */
#ifndef GM_CONFIG_INTERNAL_H
#define GM_CONFIG_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/yaml_tree.h"
#include "gm/experiment.h"

#define GM_CFG_PATH_MAX 256

/* Models an experiment may hold, sweep points included. */
#define GM_CFG_MODELS_MAX 4096

/* The largest experiment file gm reads: the biggest real one is a few
 * KB; a bound keeps /dev/zero or a mistaken data file from being read
 * for ever. */
#define GM_CFG_FILE_MAX ((size_t)16 << 20)

/* Sets err to "<where>: <path>: <message>", <where> being "--set <set>"
 * when set is non-NULL, else "<source>:<line>:<col>"; no "<path>: " when
 * path is empty. */
void gm_cfg_verror(gm_error *err, gm_status status, const char *source,
                   const char *set, int line, int col, const char *path,
                   const char *fmt, va_list ap);

/* out = parent + "." + key (no dot after an empty parent or before
 * "[i]"); out may be parent. */
void gm_cfg_path_join(char *out, size_t cap, const char *parent,
                      const char *key);

/* The closest of names[0..n) to `word` (edit distance <= 2, or a known
 * synonym such as learning_rate for lr); NULL if none is close. */
const char *gm_cfg_suggest(const char *word, const char *const *names, int n);

/* The sweep keys and values of each model of an expanded document, in
 * the order of its models mapping (config_sweep.c). */
typedef struct gm_cfg_sweep_point {
    gm_sweep_value value[GM_SWEEP_MAX_KEYS];
    int n; /* 0: a model the sweep does not touch */
} gm_cfg_sweep_point;

typedef struct gm_cfg_sweep {
    gm_cfg_sweep_point *points;
    int n_points;
} gm_cfg_sweep;

/* The validator's context. */
typedef struct gm_cfg {
    const char *source; /* file name for messages */
    gm_error *err;
    gm_schema_lookup lookup;
    void *lookup_ctx;
    const gm_cfg_sweep *sweep; /* NULL or the expansion of the document */
    const char *only_model; /* validate this model alone, or NULL: all */
    /* A document read from a file: its directory, from which relative
     * dataset paths are read. NULL for a document from a string (a run
     * file's, whose paths were recorded absolute): paths stay as given. */
    const char *base_dir;
} gm_cfg;

/* The dataset's file paths (the kinds' is_file keys) of a document read
 * from a file, made absolute in the tree: a relative one is read from
 * c->base_dir, or from the current directory if it came with --set. Each
 * must exist (an error at its key otherwise). *changed: a path was
 * rewritten. */
gm_status gm_cfg_dataset_paths(const gm_cfg *c, gm_ynode *root, bool *changed);

/* Reports an error at `at` for the key `path`; returns GM_ERR_INVALID. */
gm_status gm_cfg_fail(const gm_cfg *c, const gm_ynode *at, const char *path,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reports "expected <expected>, got <what v is>". */
gm_status gm_cfg_fail_type(const gm_cfg *c, const gm_ynode *v, const char *path,
                           const char *expected);

/* A short description of a node for "got ..." ("a mapping", "\"high\""). */
void gm_cfg_describe(const gm_ynode *n, char *out, size_t cap);

/* A numeric range; lo/hi may be -INFINITY/INFINITY. */
typedef struct gm_cfg_range {
    double lo, hi;
    bool lo_open, hi_open; /* exclusive bounds */
} gm_cfg_range;

#define GM_CFG_ANY ((gm_cfg_range){-INFINITY, INFINITY, false, false})
#define GM_CFG_AT_LEAST(x) ((gm_cfg_range){(x), INFINITY, false, false})
#define GM_CFG_POSITIVE ((gm_cfg_range){0, INFINITY, true, false})
#define GM_CFG_UNIT_OPEN ((gm_cfg_range){0, 1, false, true}) /* [0, 1) */

/* True for a plain scalar written as a decimal number; *integer says
 * whether it has only digits (no point, no exponent). */
bool gm_cfg_is_number(const gm_ynode *v, bool *integer);

/* Typed reads of a value node `v` at key `path`: check the type and the
 * range, report the error, or store the value. */
gm_status gm_cfg_number(const gm_cfg *c, const gm_ynode *v, const char *path,
                        gm_cfg_range r, double *out);
gm_status gm_cfg_float(const gm_cfg *c, const gm_ynode *v, const char *path,
                       gm_cfg_range r, float *out);
gm_status gm_cfg_long(const gm_cfg *c, const gm_ynode *v, const char *path,
                      gm_cfg_range r, long *out);
gm_status gm_cfg_int(const gm_cfg *c, const gm_ynode *v, const char *path,
                     gm_cfg_range r, int *out);
gm_status gm_cfg_bool(const gm_cfg *c, const gm_ynode *v, const char *path,
                      bool *out);
/* A scalar string that fits in cap bytes. */
gm_status gm_cfg_string(const gm_cfg *c, const gm_ynode *v, const char *path,
                        char *out, size_t cap);
/* A string of [A-Za-z0-9_-]+ that fits in cap bytes. */
gm_status gm_cfg_name(const gm_cfg *c, const gm_ynode *v, const char *path,
                      char *out, size_t cap);
/* One of names[0..n); *index gets its position. */
gm_status gm_cfg_choice(const gm_cfg *c, const gm_ynode *v, const char *path,
                        const char *const *names, int n, int *index);

/* Optional keys of mapping m (may be NULL): read `key` if it is given,
 * else leave *out (the default) alone. */
gm_status gm_cfg_get_number(const gm_cfg *c, const gm_ynode *m,
                            const char *parent_path, const char *key,
                            gm_cfg_range r, double *out);
gm_status gm_cfg_get_float(const gm_cfg *c, const gm_ynode *m,
                           const char *parent_path, const char *key,
                           gm_cfg_range r, float *out);
gm_status gm_cfg_get_long(const gm_cfg *c, const gm_ynode *m,
                          const char *parent_path, const char *key,
                          gm_cfg_range r, long *out);
gm_status gm_cfg_get_int(const gm_cfg *c, const gm_ynode *m,
                         const char *parent_path, const char *key,
                         gm_cfg_range r, int *out);
gm_status gm_cfg_get_string(const gm_cfg *c, const gm_ynode *m,
                            const char *parent_path, const char *key, char *out,
                            size_t cap);

/* A mapping, or NULL for an absent or null value (meaning "defaults");
 * reports an error for anything else. */
gm_status gm_cfg_map(const gm_cfg *c, const gm_ynode *v, const char *path,
                     const gm_ynode **out);

/* The value of `key` in mapping m (NULL if m is NULL, the key is absent or
 * its value is null) and its key path. */
const gm_ynode *gm_cfg_get(const gm_ynode *m, const char *parent_path,
                           const char *key, char *path, size_t cap);

/* The value of the required `key` of m (m may be NULL), null included so
 * that the typed read reports "got null"; if the key is absent, reports it
 * missing at `at` (the mapping, or its parent when m is NULL). */
gm_status gm_cfg_require(const gm_cfg *c, const gm_ynode *m, const gm_ynode *at,
                         const char *parent_path, const char *key, char *path,
                         size_t cap, const gm_ynode **out);

/* The index of the first key of m not among known[0..n), or -1. */
int gm_cfg_unknown(const gm_ynode *m, const char *const *known, int n);

/* Reports m's key i as unknown, suggesting the closest of known[0..n);
 * `hint` (may be NULL) is appended when there is no suggestion. */
gm_status gm_cfg_fail_unknown(const gm_cfg *c, const gm_ynode *m, int i,
                              const char *parent_path, const char *const *known,
                              int n, const char *hint);

/* Checks that every key of m (may be NULL) is in known[0..n). */
gm_status gm_cfg_check_keys(const gm_cfg *c, const gm_ynode *m,
                            const char *path, const char *const *known, int n);

/* Reports that `key` is missing from the mapping `at` at `parent_path`. */
gm_status gm_cfg_fail_missing(const gm_cfg *c, const gm_ynode *at,
                              const char *parent_path, const char *key,
                              const char *hint);

/* Layers of one section, the last the most specific (a model's `train`
 * over the global one): a key is taken from the last layer that has it. */
typedef struct gm_cfg_scope {
    const gm_ynode *map; /* NULL if the layer does not give the section */
    const char *path;
} gm_cfg_scope;

const gm_ynode *gm_cfg_scopes_get(const gm_cfg_scope *s, int n, const char *key,
                                  char *path, size_t cap);

/* Sections. */
gm_status gm_cfg_dataset(const gm_cfg *c, const gm_ynode *v,
                         gm_dataset_spec *out);
/* train resolved from its layers; out->steps is 0 if no layer sets it.
 * Only the last layer's unknown keys are reported (the others were
 * checked on their own). */
gm_status gm_cfg_train(const gm_cfg *c, const gm_cfg_scope *s, int n,
                       gm_train_spec *out);
gm_status gm_cfg_models(const gm_cfg *c, const gm_ynode *root,
                        gm_experiment *e);

/* A network's `layers:` list (v, at path) into out->layers. */
gm_status gm_cfg_layers(const gm_cfg *c, const gm_ynode *v, const char *path,
                        gm_net_spec *out);

/* The dimension of one data point of the dataset, or 0 if only its file
 * knows it (idx, hdf5). */
int gm_cfg_dataset_dim(const gm_dataset_spec *spec);

/* The number of classes of the dataset's labels, or 0 if only its file
 * knows it (idx, hdf5). */
int gm_cfg_dataset_classes(const gm_dataset_spec *spec);

/* The number of rows of the dataset's training split, or 0 if only its
 * files know it (fashion_mnist, idx, hdf5). */
long gm_cfg_dataset_rows(const gm_dataset_spec *spec);

/* False for the kinds without a test split (ring, grid): their held-out
 * rows are training rows. */
bool gm_cfg_dataset_has_test_split(const gm_dataset_spec *spec);

/* Checks that model e->models[index] (its mapping `model` at `path`, all
 * of it validated but its size) fits the limits of gm/limits.h; reports
 * the key to change if not. */
gm_status gm_cfg_model_sizes(const gm_cfg *c, const gm_ynode *root,
                             const gm_ynode *model, const char *path,
                             const gm_objective_schema *schema,
                             const gm_experiment *e, int index);

/* Applies one "a.b.c=value" override to the tree (root a mapping). */
gm_status gm_cfg_apply_override(gm_ynode *root, const char *set,
                                const char *source, gm_error *err);

/* Expands the document's `sweep:` block: *out is a copy of root whose
 * swept models are replaced, in place, by one model per point of the
 * grid ("vae[beta=4]"), and sweep gets each model's swept keys and values
 * (free with gm_cfg_sweep_clear). *out is NULL when there is nothing to
 * expand (no sweep, or a null or empty one). */
gm_status gm_cfg_sweep_expand(const gm_cfg *c, const gm_ynode *root,
                              gm_ynode **out, gm_cfg_sweep *sweep);
void gm_cfg_sweep_clear(gm_cfg_sweep *sweep);

/* Validates the whole document into e (which must be zeroed). */
gm_status gm_cfg_experiment(const gm_cfg *c, const gm_ynode *root,
                            gm_experiment *e);

#endif
