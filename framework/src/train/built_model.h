/* A built model: what an objective's build function produced, plus the
 * optimizers, ready for the trainer. Internal to libgm. */
#ifndef GM_TRAIN_BUILT_MODEL_H
#define GM_TRAIN_BUILT_MODEL_H

#include <limits.h>
#include <stdint.h>

#include "gm/objective.h"
#include "gm/optim.h"

#define GM_MAX_PHASES 4
#define GM_MAX_GROUPS 8
#define GM_MAX_METRICS 48

typedef struct gm_phase {
    char name[GM_NAME_MAX];
    gm_graph *graph;
    gm_node *loss;
    gm_node *x;      /* the data input, or NULL */
    gm_node *labels; /* the batch's classes [batch], or NULL */
    gm_params *groups[GM_MAX_GROUPS];
    gm_optim *optims[GM_MAX_GROUPS]; /* the model's, one per group */
    int n_groups;
    int repeats;
    float clip; /* > 0: groups clamped to [-clip, clip] before each forward */
} gm_phase;

/* A metric node of a phase graph, read after that phase's forward. */
typedef struct gm_metric_source {
    gm_node *node;
    int phase;
} gm_metric_source;

struct gm_model {
    const gm_objective *objective;
    /* For crash reports (hook_scope.h): the file the objective's code is
     * in, the model's name and seed. */
    char objective_file[PATH_MAX];
    char name[GM_MODEL_NAME_MAX];
    uint64_t seed;
    gm_train_spec train;
    int data_dim, sample_count;

    gm_phase phases[GM_MAX_PHASES];
    int n_phases;
    gm_params *owned[GM_MAX_GROUPS]; /* every group the model frees */
    gm_optim *optims[GM_MAX_GROUPS]; /* of owned[i], NULL if untrained */
    int n_owned;
    gm_graph *sampler;
    gm_node *samples;

    gm_hooks hooks;
    char attr_names[GM_MAX_MODEL_ATTRS][GM_NAME_MAX];
    double attr_values[GM_MAX_MODEL_ATTRS];
    int n_attrs;

    /* Training metrics: the phases' losses, then metric nodes. Each is a
     * running sum since the last evaluation. */
    char metric_names[GM_MAX_METRICS][GM_NAME_MAX];
    gm_metric_source metric_src[GM_MAX_METRICS];
    double metric_sum[GM_MAX_METRICS];
    long metric_count[GM_MAX_METRICS];
    int n_train_metrics;
    char eval_names[GM_MAX_EVAL_METRICS][GM_NAME_MAX];
    int n_eval_metrics;
    char eval_vector_names[GM_MAX_EVAL_VECTORS][GM_NAME_MAX];
    int eval_vector_lens[GM_MAX_EVAL_VECTORS];
    int n_eval_vectors;
    int eval_vector_values; /* the sum of eval_vector_lens */
};

/* Builds `objective` for the model described by ctx, compiles its graphs
 * and makes its optimizers. */
gm_model *gm_model_create(const gm_objective *objective,
                          const gm_build_ctx *ctx, gm_error *err);
void gm_model_free(gm_model *m);

/* The objective's hooks, each marked for crash reports (hook_scope.h):
 * evaluate (gm_evaluate_fn), which m must have, and save_state and
 * load_state (gm_save_state_fn) under the prefix "objective". */
gm_status gm_model_evaluate(gm_model *m, const float *data, const int *labels,
                            int n, double *out, gm_error *err);
gm_status gm_model_save_hook_state(const gm_model *m, gm_state *s,
                                   gm_error *err);
gm_status gm_model_load_hook_state(gm_model *m, const gm_state *s,
                                   gm_error *err);

/* The sampler's rows per draw for eval.samples samples: evaluations draw
 * larger counts (26,000 images for Stacked Fashion-MNIST) in several
 * draws, so that the sampler graph's memory stays that of 2500 rows; at
 * or below 2500, one draw, as before draws were split. */
#define GM_SAMPLER_ROWS_MAX 2500
static inline int gm_sampler_rows(int eval_samples) {
    return eval_samples < GM_SAMPLER_ROWS_MAX ? eval_samples
                                              : GM_SAMPLER_ROWS_MAX;
}

/* Fills a data input with the next batch and, when labels is not NULL,
 * the labels input with its rows' classes. */
typedef void (*gm_batch_fn)(void *batcher, float *x, float *labels);

/* One training step: every phase in order, `repeats` times each. Stops
 * with GM_ERR_NUMERIC naming the phase and the metric at the first loss or
 * gradient that is not finite. */
gm_status gm_model_train_step(gm_model *m, long step, gm_batch_fn next_batch,
                              void *batcher, gm_error *err);

/* Writes the averages of the training metrics since the last call into
 * out[0..n_train_metrics) and restarts the averages. */
void gm_model_take_train_metrics(gm_model *m, double *out);

/* True if a phase trains on the batch's labels (the dataset needs some). */
bool gm_model_uses_labels(const gm_model *m);

/* Draws sample_count samples [sample_count, data_dim] into out; only for
 * a model with a sampler (m->samples not NULL). */
void gm_model_sample(gm_model *m, float *out);
/* The same draw, left in the sampler's graph: valid until the next. */
const float *gm_model_draw(gm_model *m);

/* The model's part of a run state (model_state.c): params/<group>/<view>,
 * optim/<group>/..., rng/<graph>/<node>, metrics/sum and metrics/count,
 * and objective/... from the objective's hooks. */
gm_status gm_model_save_state(const gm_model *m, gm_state *s, gm_error *err);
/* Restores a state saved from a model built the same way; on failure the
 * model is in an unknown state and must not train on. */
gm_status gm_model_load_state(gm_model *m, const gm_state *s, gm_error *err);
/* Only the parameter values (for sampling from a checkpoint). */
gm_status gm_model_load_params(gm_model *m, const gm_state *s, gm_error *err);

#endif
