/* gm/train.h: running an experiment.
 *
 * Trains every model of a validated experiment once per seed, evaluating
 * every eval.every steps and at the end, and writes everything to one run
 * file (gm/runfile.h). The library does not print: progress goes to a
 * callback the caller may set. */
#ifndef GM_TRAIN_H
#define GM_TRAIN_H

#include <signal.h>

#include "gm/api.h"
#include "gm/blas.h"
#include "gm/cluster.h"
#include "gm/experiment.h"
#include "gm/registry.h"

GM_API_BEGIN

/* Where a run stands, for progress displays. */
typedef struct gm_progress {
    const char *model;
    uint64_t seed;
    int run_index, n_runs; /* (model, seed) runs, counted from 0 */
    long step, steps;
    double steps_per_second; /* training steps, evaluation excluded */
    double eta_seconds;      /* for this run */
    bool evaluation;         /* an evaluation was just logged */
    const char *const *metric_names; /* the last evaluation's metrics */
    const double *metrics;
    int n_metrics;
    /* A run of a file being resumed, set up and about to go on from
     * `step` (its last checkpoint; 0: begun without one, it starts over);
     * reported once per run, before its first step. */
    bool resumed;
} gm_progress;

typedef void (*gm_progress_fn)(const gm_progress *p, void *ctx);

#define GM_MAX_JOBS 64

typedef struct gm_train_options {
    gm_progress_fn progress; /* NULL: no reports */
    void *progress_ctx;
    double progress_interval; /* seconds between reports between evaluations
                                 (0: only at evaluations) */
    int jobs; /* runs trained at once, in threads (0 or 1: one) */
    bool resume;  /* go on with the unfinished runs of the file e->out */
    bool retry_failed; /* with resume: also the runs recorded as failed,
                          each from its last checkpoint */
    bool replace; /* e->out may exist: replaced once complete/interrupted */
    /* Set (e.g. by a signal handler) to stop: every run checkpoints at its
     * next step, and the file is marked interrupted. May be NULL. */
    const volatile sig_atomic_t *stop;
    /* The MPI job this process is a rank of (gm/cluster.h), or NULL: every
     * rank calls gm_train_experiment; rank 0 writes e->out, and every
     * rank trains `jobs` runs at once. */
    gm_cluster *cluster;
} gm_train_options;

/* Trains the experiment into the run file e->out (a new one, or with
 * opts->resume the unfinished runs of an existing one, each from its last
 * checkpoint, bit for bit as if never stopped). Runs train `jobs` at a
 * time; each evaluation, checkpoint (every e->checkpoint_every steps and
 * at the end) and finished run is in the published file as soon as it
 * comes, and the file does not depend on jobs: OpenBLAS is set to
 * e->blas_threads threads (for the whole process, and left so), since its
 * products change in the last bits with its thread count; `jobs` times
 * e->blas_threads is the number of cores the runs keep busy. The progress
 * callback is called from the workers, one call at a time. A run that fails
 * on its own (a NaN or Inf, an error of its objective) keeps everything it
 * logged and its last checkpoint, its status becomes "failed: <why>" (step
 * and metric), and the other runs go on; at the end /summary leaves it out,
 * the file's status is "failed: <k> of <n> runs failed" and the result is
 * GM_ERR_STATE, the message listing each failed run (model, seed, why).
 * Resuming skips failed runs unless opts->retry_failed. A run that cannot
 * be set up, or a file that cannot be written, stops every run: the
 * file's status says "failed: <why>". Resuming first checks that the
 * stored experiment has the file's runs and, for each model, the settings
 * its runs were trained with (attr config), with an error naming the first
 * key that differs. When opts->stop is set, every run checkpoints, the
 * file's status becomes "interrupted", and the result is GM_INTERRUPTED. */
gm_status gm_train_experiment(const gm_experiment *e, gm_registry *reg,
                              const gm_train_options *opts, gm_error *err);

/* Builds every model of the experiment once (networks, phase graphs,
 * sampler, hooks) with the first seed and frees it, so that a graph error
 * in any model is found before anything trains. gm_train_experiment calls
 * it before it touches the run file. The error names the model. */
gm_status gm_check_models(const gm_experiment *e, gm_registry *reg,
                          gm_error *err);

/* Draws n samples from the model `model` of the run file at `path`, as
 * trained with `seed` (has_seed false: the file's first seed of that
 * model): rebuilds the model from the file's config_yaml, loads its
 * checkpoint and runs its sampler, in chunks of a fixed number of rows
 * so that row i is the same for every n > i. The sampling noise comes
 * from noise_seed's "sample" stream (has_noise_seed false: the run's
 * seed's). *out [n, *dim] is malloc'd. */
gm_status gm_sample_from_run(const char *path, const char *model,
                             bool has_seed, uint64_t seed, bool has_noise_seed,
                             uint64_t noise_seed, int n, gm_registry *reg,
                             float **out, int *dim, gm_error *err);

GM_API_END

#endif
