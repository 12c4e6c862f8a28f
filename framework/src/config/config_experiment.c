/* The top level of an experiment file: name, seeds, output, OpenBLAS's
 * threads, and the sections in a fixed order. */
#include <stdio.h>

#include "config/config_internal.h"

static const char *const top_keys[] = {
    "experiment", "seeds", "out",        "blas_threads", "dataset",
    "train",      "eval",  "checkpoint", "models",       "sweep"};
static const char *const eval_keys[] = {
    "every", "samples",    "held_out", "classifier", "classifier_model",
    "knn_k", "knn_samples"};
static const char *const checkpoint_keys[] = {"every"};

static gm_status seeds(const gm_cfg *c, const gm_ynode *root,
                       gm_experiment *e) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(root, "", "seeds", path, sizeof path);
    if (!v) {
        e->seeds[0] = 1;
        e->n_seeds = 1;
        return GM_OK;
    }
    if (v->kind != GM_YSEQ)
        return gm_cfg_fail_type(c, v, path, "a list of seeds");
    if (v->n < 1 || v->n > GM_MAX_SEEDS)
        return gm_cfg_fail(c, v, path, "expected 1 to %d seeds, got %d",
                           GM_MAX_SEEDS, v->n);
    for (int i = 0; i < v->n; i++) {
        char item[GM_CFG_PATH_MAX];
        snprintf(item, sizeof item, "seeds[%d]", i);
        long s;
        gm_status st =
            gm_cfg_long(c, v->child[i], item, GM_CFG_AT_LEAST(0), &s);
        if (st != GM_OK) return st;
        for (int j = 0; j < i; j++)
            if (e->seeds[j] == (uint64_t)s)
                return gm_cfg_fail(c, v->child[i], item,
                                   "duplicate seed %ld (also seeds[%d])", s, j);
        e->seeds[i] = (uint64_t)s;
    }
    e->n_seeds = v->n;
    return GM_OK;
}

static gm_status eval(const gm_cfg *c, const gm_ynode *root, gm_experiment *e) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *m = gm_cfg_get(root, "", "eval", path, sizeof path);
    gm_status st = gm_cfg_map(c, m, path, &m);
    if (st == GM_OK) st = gm_cfg_check_keys(c, m, path, eval_keys, 7);
    char key[GM_CFG_PATH_MAX];
    e->eval_samples = 1000;
    if (st == GM_OK)
        st = gm_cfg_get_int(c, m, path, "samples", GM_CFG_AT_LEAST(1),
                            &e->eval_samples);
    e->eval_every = 0;
    if (st == GM_OK)
        st = gm_cfg_get_long(c, m, path, "every", GM_CFG_AT_LEAST(1),
                             &e->eval_every);
    e->eval_held_out = 0; /* the whole test split */
    if (st == GM_OK)
        st = gm_cfg_get_int(c, m, path, "held_out", GM_CFG_AT_LEAST(1),
                            &e->eval_held_out);
    /* Without a test split, held-out rows are training rows. */
    long rows = gm_cfg_dataset_rows(&e->dataset);
    const gm_ynode *held_out =
        m ? gm_cfg_get(m, path, "held_out", key, sizeof key) : NULL;
    if (st == GM_OK && held_out && rows > 0 &&
        !gm_cfg_dataset_has_test_split(&e->dataset) &&
        e->eval_held_out > rows)
        st = gm_cfg_fail(c, held_out, key,
                         "%d rows, more than the %ld of dataset %s "
                         "(dataset.size), which has no test split",
                         e->eval_held_out, rows, e->dataset.name);
    e->eval_knn_k = 3; /* Kynkaanniemi et al.'s */
    if (st == GM_OK)
        st = gm_cfg_get_int(c, m, path, "knn_k",
                            ((gm_cfg_range){1, 64, false, false}),
                            &e->eval_knn_k);
    e->eval_knn_samples = 5000;
    if (st == GM_OK)
        st = gm_cfg_get_int(c, m, path, "knn_samples", GM_CFG_AT_LEAST(2),
                            &e->eval_knn_samples);
    if (st == GM_OK)
        st = gm_cfg_get_string(c, m, path, "classifier", e->eval_classifier,
                               sizeof e->eval_classifier);
    if (st == GM_OK)
        st = gm_cfg_get_string(c, m, path, "classifier_model",
                               e->eval_classifier_model,
                               sizeof e->eval_classifier_model);
    const gm_ynode *model =
        m ? gm_cfg_get(m, path, "classifier_model", key, sizeof key) : NULL;
    if (st == GM_OK && model && !e->eval_classifier[0])
        st = gm_cfg_fail(c, model, key,
                         "names a model of eval.classifier's run file; "
                         "give that file too");
    return st;
}

/* checkpoint.every: 0 (the default) checkpoints at every evaluation. */
static gm_status checkpoint(const gm_cfg *c, const gm_ynode *root,
                            gm_experiment *e) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *m = gm_cfg_get(root, "", "checkpoint", path, sizeof path);
    gm_status st = gm_cfg_map(c, m, path, &m);
    if (st == GM_OK) st = gm_cfg_check_keys(c, m, path, checkpoint_keys, 1);
    e->checkpoint_every = 0;
    if (st == GM_OK)
        st = gm_cfg_get_long(c, m, path, "every", GM_CFG_AT_LEAST(1),
                             &e->checkpoint_every);
    return st;
}

/* Evaluate once at the end by default: every = the global steps, or the
 * longest model's when each model sets its own. */
static long default_eval_every(const gm_experiment *e) {
    if (e->train.steps > 0) return e->train.steps;
    long every = 1;
    for (int i = 0; i < e->n_models; i++)
        if (e->models[i].train.steps > every) every = e->models[i].train.steps;
    return every;
}

gm_status gm_cfg_experiment(const gm_cfg *c, const gm_ynode *root,
                            gm_experiment *e) {
    if (root->kind != GM_YMAP)
        return gm_cfg_fail_type(c, root, "", "a mapping at the top level");
    gm_status st = gm_cfg_check_keys(c, root, "", top_keys, 10);
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v;
    if (st == GM_OK)
        st = gm_cfg_require(c, root, root, "", "experiment", path, sizeof path,
                            &v);
    if (st == GM_OK) st = gm_cfg_name(c, v, path, e->name, sizeof e->name);
    if (st == GM_OK) st = seeds(c, root, e);
    snprintf(e->out, sizeof e->out, "runs/%s.h5", e->name);
    if (st == GM_OK)
        st = gm_cfg_get_string(c, root, "", "out", e->out, sizeof e->out);
    e->blas_threads = 1;
    if (st == GM_OK)
        st =
            gm_cfg_get_int(c, root, "", "blas_threads",
                           (gm_cfg_range){1, GM_MAX_BLAS_THREADS, false, false},
                           &e->blas_threads);
    if (st == GM_OK)
        st =
            gm_cfg_require(c, root, root, "", "dataset", path, sizeof path, &v);
    if (st == GM_OK) st = gm_cfg_dataset(c, v, &e->dataset);
    gm_cfg_scope train = {NULL, "train"};
    if (st == GM_OK) {
        v = gm_cfg_get(root, "", "train", path, sizeof path);
        st = gm_cfg_map(c, v, path, &train.map);
    }
    if (st == GM_OK) st = gm_cfg_train(c, &train, 1, &e->train);
    if (st == GM_OK) st = eval(c, root, e);
    if (st == GM_OK) st = checkpoint(c, root, e);
    if (st == GM_OK) st = gm_cfg_models(c, root, e);
    if (st == GM_OK && e->eval_every == 0)
        e->eval_every = default_eval_every(e);
    if (st == GM_OK && e->checkpoint_every == 0)
        e->checkpoint_every = e->eval_every;
    return st;
}
