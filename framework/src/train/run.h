/* One (model, seed) run: its data, model and evaluation rows. A run trains
 * on its own (possibly in a worker thread) and publishes each evaluation
 * as a row that the trainer writes to the run file in experiment order.
 * Internal to libgm. */
#ifndef GM_TRAIN_RUN_H
#define GM_TRAIN_RUN_H

#include "gm/data.h"
#include "gm/frechet.h"
#include "gm/image_modes.h"
#include "gm/manifold.h"
#include "gm/train.h"
#include "built_model.h"
#include "data/dataset_cache.h"

#define GM_RUN_MAX_LOGGED (GM_MAX_METRICS + GM_MAX_EVAL_METRICS + 8)

typedef struct gm_run gm_run;

/* How a run reports to whoever drives it; every call comes from the
 * run's own thread. */
typedef struct gm_run_callbacks {
    void (*published)(gm_run *r, void *ctx); /* a new row is complete */
    /* r->state holds a new checkpoint; the callback may swap it for an
     * empty state of its own (it keeps the one it takes). */
    void (*checkpointed)(gm_run *r, void *ctx);
    void (*progress)(gm_run *r, bool evaluation, void *ctx);
    bool (*stop)(void *ctx); /* checkpoint and stop at the next step */
    void *ctx;
    double progress_interval; /* seconds between reports, 0: evaluations */
} gm_run_callbacks;

struct gm_run {
    const gm_experiment *e;
    const gm_model_spec *spec;
    const gm_objective *objective;
    uint64_t seed;
    int index; /* in the experiment's (model, seed) order */
    const gm_image_classifier *classifier; /* eval.classifier, or NULL */
    gm_dataset_cache *datasets; /* the experiment's, shared by every run */

    const gm_dataset *data; /* the cache's: shared, read-only */
    gm_batcher *batcher;
    gm_model *model;
    /* What a row holds: the objective's metrics, then gm's own
     * (own_metrics.h); each one's name and unit. */
    const char *names[GM_RUN_MAX_LOGGED];
    const gm_metric_info *infos[GM_RUN_MAX_LOGGED];
    int n_logged, snapshot, dim;
    unsigned own_sources;   /* own_metrics.c's sources that apply, a bit
                               per source */
    int k_modes;            /* mode_counts' width: a mixture's modes or, with
                               image_modes, the classes it counts; 0: none */
    int log_px_index; /* where the objective's log_px sits in a row
                         (gm_objective_schema.log_px), or -1 */
    gm_image_modes *image_modes; /* the classifier's counts, or NULL */
    /* The k-NN metrics' reference and the Frechet distance's (images)
     * Gaussian fit, or NULL; they use the first n_knn samples, whose
     * classifier features (images) image_modes leaves in knn_features
     * [n_knn, feature dim]. */
    gm_manifold *knn;
    gm_frechet *frechet;
    float *knn_features;
    int n_knn;
    /* The real-data floor (gm_own_metrics_floor; the experiment's first
     * run only): n_floor metrics of real rows and what those rows were. */
    int n_floor;
    double floor_values[GM_RUN_MAX_LOGGED];
    const gm_metric_info *floor_infos[GM_RUN_MAX_LOGGED];
    char floor_rows[256];
    double eval_log_p_data; /* mean log p_data(x) on the evaluation rows */
    float *samples; /* [eval_samples, dim] drawn at each evaluation, or NULL
                       for a model without a sampler */
    const float *held_out;  /* [n_held_out, dim]: the evaluate hook's rows */
    const int *held_out_labels; /* [n_held_out] or NULL */
    int n_held_out;
    double *eval_out; /* [n_eval_metrics + vector values]: the hook's output */

    /* Evaluation rows, written by the run; rows below the published count
     * (kept by the driver) never change again. */
    long cap_rows;
    long *row_step;     /* [cap_rows] */
    double *row_values; /* [cap_rows, n_logged] */
    int *row_modes;     /* [cap_rows, k_modes] or NULL */
    float *row_samples; /* [cap_rows, snapshot, dim] */
    double *row_vectors; /* [cap_rows, model->eval_vector_values] or NULL */
    long n_rows;
    long first_row; /* rows before it came from a checkpoint: not in memory */

    long steps_done;
    double train_seconds; /* training only, evaluation excluded */
    gm_state *state;      /* the last checkpoint taken */
    long checkpoint_step; /* its step, -1 before the first */
};

/* Builds the run's batcher, model and row buffers, on its dataset from
 * r->datasets. */
gm_status gm_run_setup(gm_run *r, gm_error *err);
/* The dataset holds a batch of the model and the held-out rows the
 * evaluations ask for (eval.held_out): checked by gm_check_models before
 * anything trains, for datasets whose size the experiment cannot tell
 * (files), and by every run's setup. */
gm_status gm_run_check_dataset_fits(const gm_experiment *e,
                                    const gm_model_spec *spec,
                                    const gm_dataset *d, gm_error *err);

/* gm_check_models (gm/train.h) on the datasets of `datasets`, which the
 * experiment's runs then share. */
gm_status gm_check_models_on(const gm_experiment *e, gm_registry *reg,
                             gm_dataset_cache *datasets, gm_error *err);

/* Puts the run where a state saved by its checkpoint left it (after
 * gm_run_setup): the next step is the one after run/step. */
gm_status gm_run_load_state(gm_run *r, const gm_state *s, gm_error *err);

/* Trains from the step after steps_done to spec->train.steps, evaluating
 * every eval.every steps and at the end, checkpointing every
 * checkpoint_every steps, at the end, and when cb->stop says so (then it
 * returns GM_INTERRUPTED). Stops at the first non-finite value with an
 * error naming the step and the metric. */
gm_status gm_run_train(gm_run *r, const gm_run_callbacks *cb, gm_error *err);

void gm_run_free(gm_run *r);

#endif
