/* gm/runfile.h: the HDF5 run file, the file users inspect.
 *
 * One experiment writes one file (layout in analysis/README.md):
 *
 *   /                         attrs gm_version, experiment, status, created,
 *                             config_yaml, blas_core
 *   /dataset                  attrs name and its parameters; for mixtures a
 *                             float64 dataset centers [K,d] and attr std
 *   /dataset/floor            the real-data floor: gm's sample metrics of
 *                             real rows, float64 scalar <metric> each
 *                             (attrs unit, better); attr rows
 *   /models/<name>            attrs objective and each hyperparameter;
 *                             for a sweep point, sweep_keys and
 *                             sweep.<key> for each swept key; config
 *                             and config_digest (the resolved settings
 *                             its runs train with, checked by --resume)
 *   /models/<name>/seed_<s>   attrs seed, status (pending | running |
 *                             complete | failed: <why>), steps,
 *                             train_seconds
 *     metrics/step            int64 [n]     evaluation steps
 *     metrics/<metric>        float64 [n]   one value per evaluation;
 *                                           attrs unit and better (higher |
 *                                           lower | neither)
 *     vectors/<metric>        float64 [n,L] a vector per evaluation; the
 *                                           same attrs
 *     mode_counts             int32 [n,K]   for a mixture (high-quality
 *                                           samples per mode) or with
 *                                           eval.classifier (samples per
 *                                           class)
 *     samples                 float32 [n,S,d]
 *     checkpoint/<record>     the run's state (gm/state.h), one dataset per
 *                             record: params/<group>/<view>, optim/...
 *   /summary                  one row per model: mean and standard error
 *                             over seeds of each metric's final value;
 *                             then, with a floor, a row "data" (objective
 *                             "real data") of its headline metrics
 *
 * `status` is "running" until the caller sets "complete", "interrupted"
 * or "failed: <why>", so an unfinished file never looks finished.
 *
 * Safe writing: the writer keeps the file in memory and publishes it whole
 * after every change (a temporary file renamed over the published one),
 * so a reader (h5py, h5dump, gm summary) always opens a complete file,
 * and a crash or kill at any moment leaves the last published version.
 * Each version starts with a 512-byte HDF5 user block holding gm's header
 * (its length and the CRC-32 of the rest): the readers below and
 * gm_runfile_resume read the file once, check it and open that copy, so a
 * file changed after gm wrote it is an error ("damaged") before HDF5
 * reads it. Files from before the header are read unchecked.
 * One writer per file: a second one fails at once (an advisory lock on the
 * hidden file .<name>.lock beside the file the path resolves to, through
 * symbolic links, which stay links). An existing file is never truncated:
 * replacing one writes <path>.new (under its lock too), renamed over
 * <path> only once every run in it has ended (complete, or some failed:
 * gm_runfile_set_ended) or it is interrupted; only a regular file is
 * replaced.
 *
 * Names of models, metrics, parameter groups and views become HDF5 link
 * names: they must be non-empty, at most 255 bytes and contain no '/'. */
#ifndef GM_RUNFILE_H
#define GM_RUNFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "gm/api.h"
#include "gm/hparams.h"
#include "gm/metric_info.h"
#include "gm/state.h"
#include "gm/status.h"
#include "gm/sweep.h"

GM_API_BEGIN

typedef struct gm_runfile gm_runfile;
typedef struct gm_run_log gm_run_log;

/* ---- writing ------------------------------------------------------------ */

typedef enum gm_runfile_mode {
    GM_RUNFILE_NEW,    /* an error if `path` exists */
    GM_RUNFILE_REPLACE /* an existing file is replaced once this one has
                          ended or is interrupted (written at path.new) */
} gm_runfile_mode;

/* Creates a run file for `path`, making missing parent directories, with
 * the root attributes and status "running", and takes the writer's lock
 * (an error naming the other writer's pid if it is taken). */
gm_runfile *gm_runfile_create(const char *path, gm_runfile_mode mode,
                              const char *experiment, const char *config_yaml,
                              gm_error *err);

/* Opens an existing run file to go on writing it (gm run --resume): takes
 * the lock and sets status "running". */
gm_runfile *gm_runfile_resume(const char *path, gm_error *err);

/* Every change is published at once, unless publishing is deferred: then
 * the changes wait for the next gm_runfile_flush (or a status that ends
 * the file), so that what belongs together (a run's new rows and its
 * checkpoint) is published as one version. */
void gm_runfile_defer(gm_runfile *f);
gm_status gm_runfile_flush(gm_runfile *f, gm_error *err);

/* Writes /dataset/floor (after /dataset): the real-data floor, n of gm's
 * own metrics (infos: name, unit, direction) of real rows in place of a
 * model's samples, and `rows`, which rows against which reference.
 * Replaces any earlier floor. */
gm_status gm_runfile_set_floor(gm_runfile *f, const char *rows,
                               const gm_metric_info *const *infos,
                               const double *values, int n, gm_error *err);

/* The path the file is for, and where it is published while written (the
 * same, or path.new while replacing an existing file). */
const char *gm_runfile_path(const gm_runfile *f);
const char *gm_runfile_live_path(const gm_runfile *f);

/* An attribute's value with its type: a number (float64), an integer
 * (int64) or a text (a UTF-8 string). */
typedef enum gm_runfile_attr_type {
    GM_RUNFILE_ATTR_NUMBER,
    GM_RUNFILE_ATTR_INTEGER,
    GM_RUNFILE_ATTR_TEXT,
} gm_runfile_attr_type;

typedef struct gm_runfile_attr {
    const char *name;
    gm_runfile_attr_type type;
    double number;    /* NUMBER */
    int64_t integer;  /* INTEGER */
    const char *text; /* TEXT */
} gm_runfile_attr;

/* Writes /dataset: attr name, one attr per parameter, and for a mixture
 * (centers not NULL) centers [k,d] and attr std. Replaces any earlier
 * /dataset. */
gm_status gm_runfile_set_dataset(gm_runfile *f, const char *name,
                                 const gm_runfile_attr *attrs, int n_attrs,
                                 const float *centers /* [k,d] or NULL */,
                                 int k, int d, double std, gm_error *err);

/* Adds /models/<model> with attr objective and one attr per
 * hyperparameter (numbers and bools as double, choices as strings). */
gm_status gm_runfile_add_model(gm_runfile *f, const char *model,
                               const char *objective, const gm_hparams *params,
                               gm_error *err);

/* Records a sweep point's keys and values on /models/<model>: attr
 * sweep_keys (the keys, in order, as strings) and one attr sweep.<key>
 * per key: int64 when every value of the key is an integer, float64 for
 * other numbers, else the string as written. */
gm_status gm_runfile_set_model_sweep(gm_runfile *f, const char *model,
                                     const gm_sweep_value *values, int n,
                                     gm_error *err);

/* Writes (replacing) a float64 attribute `name` on /models/<model>: a fact
 * an objective states about itself (e.g. joint_kl_includes_data_entropy). */
gm_status gm_runfile_set_model_attr(gm_runfile *f, const char *model,
                                    const char *name, double value,
                                    gm_error *err);

/* Reserves /models/<model>/seed_<seed> (attrs seed, status "pending"), so
 * that runs appear in the file in the experiment's order whichever
 * finishes first. */
gm_status gm_runfile_add_run(gm_runfile *f, const char *model, uint64_t seed,
                             gm_error *err);

/* Starts /models/<model>/seed_<seed> (reserved or not) with empty series:
 * metrics/step, one metrics/<name> per metric, mode_counts [0,k_modes] if
 * k_modes > 0 and samples [0,n_samples,dim] if n_samples > 0, and status
 * "running". The model must have been added. Several runs may be logged
 * at once. */
gm_run_log *gm_runfile_begin_run(gm_runfile *f, const char *model,
                                 uint64_t seed, const char *const *metric_names,
                                 int n_metrics, int k_modes, int n_samples,
                                 int dim, gm_error *err);

/* Goes on logging a run begun earlier (same metrics and sizes) from row
 * `rows`: the rows after it are cut (a resumed run writes them again). */
gm_run_log *gm_runfile_continue_run(gm_runfile *f, const char *model,
                                    uint64_t seed,
                                    const char *const *metric_names,
                                    int n_metrics, int k_modes, int n_samples,
                                    int dim, long rows, gm_error *err);

/* Adds n series of vectors (float64 [rows, lens[i]], under vectors/ in the
 * run's group) to a log just begun or continued, before its next append:
 * created for a run with no rows, else opened and cut to the log's rows
 * like the other series. At most GM_MAX_EVAL_VECTORS, once per log. */
gm_status gm_run_log_add_vectors(gm_run_log *log, const char *const *names,
                                 const int *lens, int n, gm_error *err);

/* Records what the numbers of the log's series mean, as attributes of
 * each: `unit` (units[i]) and `better` (better[i]: "higher", "lower" or
 * "neither"), i over its metrics in the order they were given, then its
 * vectors; a NULL unit leaves that series without. Call it after
 * gm_run_log_add_vectors. */
gm_status gm_run_log_describe(gm_run_log *log, const char *const *units,
                              const char *const *better, gm_error *err);

/* Appends one evaluation: extends every series by one row, writes it and
 * flushes the file. `step` must exceed the previous one; `metrics` has
 * n_metrics values; mode_counts [k_modes], samples [n_samples, dim] and
 * vectors (the vectors' values one after the other) must be given exactly
 * when the run has them. On failure no series is left longer than the
 * others. */
gm_status gm_run_log_append(gm_run_log *log, long step, const double *metrics,
                            const int *mode_counts, const float *samples,
                            const double *vectors, gm_error *err);

/* Rows appended so far. */
long gm_run_log_rows(const gm_run_log *log);

/* Records the run's attrs steps and train_seconds (NaN until then) and
 * status "complete". The log stays usable until freed. */
gm_status gm_run_log_finish(gm_run_log *log, long steps, double train_seconds,
                            gm_error *err);

/* Records the run's attrs steps and train_seconds and status
 * "failed: <why>" (why: the step and the metric, e.g. "step 4: loss_d is
 * nan"): the run stopped on an error of its own; its rows and last
 * checkpoint stay, and the other runs go on. */
gm_status gm_run_log_fail(gm_run_log *log, long steps, double train_seconds,
                          const char *why, gm_error *err);

/* The status attr of a run of a file open for writing (pending | running
 * | complete | failed: <why>), malloc'd; NULL if the run has none. */
char *gm_runfile_run_status(gm_runfile *f, const char *model, uint64_t seed);

/* Closes the run's datasets; NULL is a no-op. */
void gm_run_log_free(gm_run_log *log);

/* Writes a run's state as its checkpoint (rewriting the last one). The
 * published file always holds one whole checkpoint. */
gm_status gm_runfile_write_state(gm_runfile *f, const char *model,
                                 uint64_t seed, const gm_state *state,
                                 gm_error *err);

/* Writes (replacing) the string attribute `name` on /models/<model>;
 * reads it from a file open for writing (*out malloc'd, NULL when the
 * model has no such attribute), or n_attrs of them of every model of the
 * file at `path`, in one read of the file (out[a]: the *n models' values
 * of attrs[a] in file order, malloc'd strings or NULLs; free each with
 * gm_runfile_texts_free): the resolved settings a model's runs train
 * with (attrs config and config_digest), kept with its checkpoints so
 * that --resume can refuse a stored experiment edited since. */
gm_status gm_runfile_set_model_text(gm_runfile *f, const char *model,
                                    const char *name, const char *value,
                                    gm_error *err);
gm_status gm_runfile_model_text(gm_runfile *f, const char *model,
                                const char *name, char **out, gm_error *err);
gm_status gm_runfile_read_models_text(const char *path,
                                      const char *const *attrs, int n_attrs,
                                      char ***out, int *n, gm_error *err);
void gm_runfile_texts_free(char **texts, int n);

/* Reads a run's checkpoint into out (emptied first): from a file open for
 * writing, or from the file at `path`. */
gm_status gm_runfile_load_state(gm_runfile *f, const char *model,
                                uint64_t seed, gm_state *out, gm_error *err);
gm_status gm_runfile_read_state(const char *path, const char *model,
                                uint64_t seed, gm_state *out, gm_error *err);

/* Sets the root attr status: "running", "complete", "interrupted" or
 * "failed: <why>". Complete and interrupted files are also synced to disk
 * (fsync). */
gm_status gm_runfile_set_status(gm_runfile *f, const char *status,
                                gm_error *err);
/* Sets the status of a file whose every run has ended, some of them
 * failed ("failed: <k> of <n> runs failed"): synced like a complete one,
 * and, like it, it replaces the file a --force run was written to
 * replace. */
gm_status gm_runfile_set_ended(gm_runfile *f, const char *status,
                               gm_error *err);

/* Computes /summary from the series in the file and writes it (replacing
 * an earlier one): a compound table with one row per model, columns
 * model, objective, n_seeds, n_failed, sweep.<key> (a string) for every key any
 * model sweeps ("" where a model does not), and <metric>_mean,
 * <metric>_se for every metric of any model (NaN where a model lacks
 * it); its attrs `metrics` and `sweep_keys` list the metric names and
 * the swept keys in order. se = sample std / sqrt(n), 0 for n = 1;
 * seeds with no evaluation, and failed seeds (counted in n_failed), are
 * left out. */
gm_status gm_runfile_write_summary(gm_runfile *f, gm_error *err);

/* Closes the file (and any run log still open, which stays allocated
 * until gm_run_log_free), releases the lock and frees f; NULL is a no-op.
 * What counts is what was published; when replacing an existing file,
 * path.new replaces it here if it has ended (gm_runfile_set_ended, or
 * status complete) or is interrupted. */
gm_status gm_runfile_close(gm_runfile *f, gm_error *err);

/* ---- reading ------------------------------------------------------------ */

/* The root attributes of a run file (malloc'd; NULL where missing). */
typedef struct gm_runfile_info {
    char *gm_version;
    char *experiment;
    char *status;
    char *created;
    char *config_yaml;
} gm_runfile_info;

gm_status gm_runfile_read_info(const char *path, gm_runfile_info *out,
                               gm_error *err);

/* True if a gm process holds the writer's lock of the file at `path` now:
 * a file whose status is "running" without one was stopped (kill -9, a
 * crash) and can be resumed. */
bool gm_runfile_has_writer(const char *path);
void gm_runfile_info_clear(gm_runfile_info *info);

/* One run of a model. */
typedef struct gm_runfile_seed {
    uint64_t seed;
    long steps;          /* attr steps: the last step recorded */
    long evaluations;    /* rows of metrics/step */
    bool has_checkpoint; /* a checkpoint group exists */
    bool begun;          /* its series exist (not only reserved) */
    bool complete;       /* the run finished */
} gm_runfile_seed;

typedef struct gm_runfile_model {
    char *name;
    char *objective;
    gm_runfile_seed *seeds; /* in the order they were written */
    int n_seeds;
} gm_runfile_model;

typedef struct gm_runfile_index {
    gm_runfile_model *models; /* in the order they were added */
    int n_models;
} gm_runfile_index;

/* Lists the models of a file and the seeds of each. */
gm_status gm_runfile_list_models(const char *path, gm_runfile_index *out,
                                 gm_error *err);
void gm_runfile_index_clear(gm_runfile_index *index);

/* The number attribute `name` of `object` ("/dataset", "/models/<name>")
 * in the file at `path`; GM_ERR_NOT_FOUND naming both when it is not
 * there. */
gm_status gm_runfile_read_number(const char *path, const char *object,
                                 const char *name, double *out, gm_error *err);

/* The last value of a run's series metrics/<metric>; GM_ERR_NOT_FOUND
 * when the run has none. */
gm_status gm_runfile_read_last_metric(const char *path, const char *model,
                                      uint64_t seed, const char *metric,
                                      double *out, gm_error *err);

/* The comparison table of a run file. */
typedef struct gm_summary {
    char *experiment;
    char *status;     /* the file's status attribute */
    bool from_series; /* no /summary in the file: computed from series */
    int n_models;
    int n_metrics;
    char **models;     /* [n_models] in file order */
    char **objectives; /* [n_models] */
    int *n_seeds;      /* [n_models] seeds with at least one evaluation,
                          failed ones left out */
    int *n_failed;     /* [n_models] seeds whose run failed (status
                          "failed: ..."); 0 in a table of an older gm */
    char **metrics;    /* [n_metrics] */
    /* Every key any model sweeps (sweep_keys), in order of first
     * appearance, and each model's value of each as text: the string, or
     * the number printed (%.15g); "" where a model does not sweep it. */
    int n_sweep;
    char **sweep_keys;   /* [n_sweep] */
    char **sweep_values; /* [n_models, n_sweep] */
    double *mean;      /* [n_models, n_metrics]; NaN where absent */
    double *se;        /* [n_models, n_metrics]; NaN where absent or
                          from one seed (undefined) */
    /* [n_metrics]: the attrs unit and better of the metric's series (the
     * first that has them), or NULL: a file written before gm recorded
     * them */
    char **units;
    char **better;
} gm_summary;

/* Reads /summary, or computes it from the series when the file has none
 * (an interrupted run), and the metrics' units from their series. */
gm_status gm_runfile_read_summary(const char *path, gm_summary *out,
                                  gm_error *err);
void gm_summary_clear(gm_summary *s);

GM_API_END

#endif
