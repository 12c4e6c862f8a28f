/* The experiment: every (model, seed) run, trained by `jobs` worker
 * threads (and, under MPI, by the other ranks' threads, each driven by a
 * worker thread here: train/cluster_mpi.c), while this thread writes to
 * the run file whatever any run publishes (evaluation rows, checkpoints,
 * its end) as soon as it comes.
 * Every run's group is laid out in experiment order before training, and
 * runs share nothing but the read-only experiment, so the file is the same
 * whatever the number of jobs. Resuming continues the unfinished runs of
 * a file from their checkpoints. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "blas/thread_buffer.h"
#include "remote_runs.h"
#include "data/dataset_kinds.h"
#include "gm/metric_info.h"
#include "gm/runfile.h"
#include "run_config.h"

/* Where a run stands in the file when the experiment starts. */
typedef enum start_kind {
    START_NEW,        /* nothing of it in the file */
    START_FRESH,      /* begun, but no checkpoint: start over */
    START_CHECKPOINT, /* go on from its checkpoint */
} start_kind;

typedef struct job {
    gm_run run;
    start_kind start;
    gm_status status;
    gm_error err;
    /* under the trainer's lock: */
    bool set_up, finished;
    long published;  /* rows ready to write */
    gm_state *ready; /* a checkpoint to write, or NULL */
    bool writing;    /* the writer is writing `ready`'s predecessor */
    /* the writer's own: */
    gm_run_log *log;
    gm_state *spare; /* an empty state to swap in for the next checkpoint */
    long written;
    bool logged, done;
} job;

typedef struct trainer {
    const gm_experiment *e;
    const gm_train_options *opts;
    gm_runfile *file;
    gm_cluster *cluster; /* NULL: every run trains in this process */
    job *jobs;
    int n_jobs, n_runs;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* The HDF5 library is not thread-safe: the run file's writes and a
     * worker's dataset set-up (which may read an HDF5 file) take turns. */
    pthread_mutex_t hdf5;
    int next; /* the next job a worker takes */
    int workers; /* still running */
    bool cancel;
    bool interrupted; /* a run stopped before its end, or never began */
} trainer;

static job *job_of(trainer *t, gm_run *r) {
    for (int i = 0; i < t->n_jobs; i++)
        if (&t->jobs[i].run == r) return &t->jobs[i];
    GM_ASSERT(false);
    return NULL;
}

static void on_published(gm_run *r, void *ctx) {
    trainer *t = ctx;
    pthread_mutex_lock(&t->lock);
    job_of(t, r)->published = r->n_rows;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

/* Hands the new checkpoint (and the rows before it) to the writer, taking
 * back an empty state; waits only while the writer is still writing the
 * previous one. */
static void on_checkpointed(gm_run *r, void *ctx) {
    trainer *t = ctx;
    pthread_mutex_lock(&t->lock);
    job *j = job_of(t, r);
    while (j->writing) pthread_cond_wait(&t->changed, &t->lock);
    gm_state *taken = r->state;
    r->state = j->ready ? j->ready : j->spare;
    GM_ASSERT(r->state); /* the writer gives each state back before */
    if (!j->ready) j->spare = NULL;
    j->ready = taken;
    /* The rows the checkpoint follows go to the file with it, never after
     * it: a resumed run's series must reach its checkpoint's row. */
    j->published = r->n_rows;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

static bool on_stop(void *ctx) {
    trainer *t = ctx;
    if (t->opts && t->opts->stop && *t->opts->stop) return true;
    pthread_mutex_lock(&t->lock);
    bool c = t->cancel;
    pthread_mutex_unlock(&t->lock);
    return c;
}

/* A report; `resumed`: the run of a file being resumed is set up and
 * goes on from step r->steps_done, before its first step. */
static void report(trainer *t, gm_run *r, bool evaluation, bool resumed) {
    if (!t->opts || !t->opts->progress) return;
    long steps = r->spec->train.steps;
    double rate =
        r->steps_done / (r->train_seconds > 0 ? r->train_seconds : 1e-9);
    long last = r->n_rows > r->first_row ? r->n_rows - 1 : -1;
    gm_progress p = {
        .model = r->spec->name,
        .seed = r->seed,
        .run_index = r->index,
        .n_runs = t->n_runs,
        .step = r->steps_done,
        .steps = steps,
        .steps_per_second = rate,
        .eta_seconds = (steps - r->steps_done) / rate,
        .evaluation = evaluation,
        .metric_names = r->names,
        .metrics = last >= 0 ? r->row_values + last * r->n_logged : NULL,
        .n_metrics = last >= 0 ? r->n_logged : 0,
        .resumed = resumed,
    };
    pthread_mutex_lock(&t->lock); /* one report at a time */
    t->opts->progress(&p, t->opts->progress_ctx);
    pthread_mutex_unlock(&t->lock);
}

static void on_progress(gm_run *r, bool evaluation, void *ctx) {
    report(ctx, r, evaluation, false);
}

/* Builds the run and, when resuming, restores its checkpoint. */
static gm_status set_up(trainer *t, job *j) {
    pthread_mutex_lock(&t->hdf5);
    gm_status s = gm_run_setup(&j->run, &j->err);
    if (s == GM_OK && j->start == START_CHECKPOINT) {
        s = gm_runfile_load_state(t->file, j->run.spec->name, j->run.seed,
                                  j->run.state, &j->err);
        if (s == GM_OK) s = gm_run_load_state(&j->run, j->run.state, &j->err);
    }
    pthread_mutex_unlock(&t->hdf5);
    return s;
}

/* A worker thread: trains its runs here, or on another rank's thread
 * (the cluster's slot `slot`) if slot >= 0. */
typedef struct worker_arg {
    trainer *t;
    int slot;
} worker_arg;

static void *worker(void *arg) {
    const worker_arg *w = arg;
    trainer *t = w->t;
    gm_run_callbacks cb = {.published = on_published,
                           .checkpointed = on_checkpointed,
                           .progress = on_progress,
                           .stop = on_stop,
                           .ctx = t,
                           .progress_interval =
                               t->opts ? t->opts->progress_interval : 0};
    for (;;) {
        pthread_mutex_lock(&t->lock);
        int i = t->next == t->n_jobs ? -1 : t->next++;
        pthread_mutex_unlock(&t->lock);
        if (i >= 0 && on_stop(t)) i = -1; /* runs not begun stay as they are */
        if (i < 0) {
            if (w->slot >= 0) gm_cluster_release(t->cluster, w->slot);
            pthread_mutex_lock(&t->lock);
            t->workers--;
            pthread_cond_broadcast(&t->changed);
            pthread_mutex_unlock(&t->lock);
            return NULL;
        }
        job *j = &t->jobs[i];
        j->spare = gm_state_create();
        gm_status s = j->spare ? set_up(t, j)
                               : gm_error_set(&j->err, GM_ERR_NOMEM,
                                              "out of memory");
        pthread_mutex_lock(&t->lock);
        j->set_up = s == GM_OK;
        j->published = j->written = j->run.n_rows; /* rows in the file */
        pthread_cond_broadcast(&t->changed);
        pthread_mutex_unlock(&t->lock);
        if (s == GM_OK && j->start != START_NEW) report(t, &j->run, false, true);
        if (s == GM_OK)
            s = w->slot < 0 ? gm_run_train(&j->run, &cb, &j->err)
                            : gm_cluster_train_remote(t->cluster, w->slot,
                                                      &j->run, &cb, &j->err);
        pthread_mutex_lock(&t->lock);
        j->status = s;
        j->finished = true;
        pthread_cond_broadcast(&t->changed);
        /* The run's memory (hundreds of MB for an image model) goes before
         * the next run's is taken: once the writer has it all. */
        while (!j->done) pthread_cond_wait(&t->changed, &t->lock);
        pthread_mutex_unlock(&t->lock);
        gm_run_free(&j->run);
    }
}

/* /dataset, from the first run's dataset (the first seed's data). */
static gm_status write_dataset(gm_runfile *file, const gm_experiment *e,
                               const gm_dataset *d, gm_error *err) {
    const gm_dataset_spec *ds = &e->dataset;
    const gm_dataset_kind_row *kind = gm_dataset_kind_find(ds->name);
    gm_runfile_attr attrs[GM_DATASET_KEYS_MAX + 5];
    int n = 0;
    for (int j = 0; kind && j < kind->n_keys; j++) {
        const gm_dataset_key *k = &kind->keys[j];
        const char *text = (const char *)ds + k->offset;
        if (!k->in_run_file ||
            (k->type == GM_DATASET_KEY_STRING && !text[0]))
            continue;
        attrs[n] = (gm_runfile_attr){.name = k->name};
        if (k->type == GM_DATASET_KEY_STRING)
            attrs[n].type = GM_RUNFILE_ATTR_TEXT, attrs[n].text = text;
        else if (k->type == GM_DATASET_KEY_NUMBER)
            attrs[n].number = gm_dataset_key_number(ds, k);
        else
            attrs[n].type = GM_RUNFILE_ATTR_INTEGER,
            attrs[n].integer = (int64_t)gm_dataset_key_number(ds, k);
        n++;
    }
    int shape[3];
    bool image = gm_dataset_shape(d, shape) == 3; /* samples are images */
    const char *sizes[] = {"size", "dim", "channels", "height", "width"};
    const int64_t size_values[] = {(int64_t)gm_dataset_rows(d),
                                   gm_dataset_dim(d), shape[0], shape[1],
                                   shape[2]};
    for (int i = 0; i < (image ? 5 : 2); i++)
        attrs[n++] = (gm_runfile_attr){.name = sizes[i],
                                       .type = GM_RUNFILE_ATTR_INTEGER,
                                       .integer = size_values[i]};
    return gm_runfile_set_dataset(file, ds->name, attrs, n,
                                  gm_dataset_centers(d), gm_dataset_modes(d),
                                  gm_dataset_dim(d), gm_dataset_std(d), err);
}

/* The unit and direction of each of the run's series: its metrics, then
 * its objective's vectors. */
static gm_status describe_series(gm_run_log *log, const gm_run *r,
                                 gm_error *err) {
    const char *units[GM_RUN_MAX_LOGGED + GM_MAX_EVAL_VECTORS];
    const char *better[GM_RUN_MAX_LOGGED + GM_MAX_EVAL_VECTORS];
    const gm_model *m = r->model;
    int n = 0;
    for (int i = 0; i < r->n_logged + m->n_eval_vectors; i++, n++) {
        const gm_metric_info *info =
            i < r->n_logged ? r->infos[i]
                            : gm_metric_info_of(&r->objective->schema,
                                                m->eval_vector_names
                                                    [i - r->n_logged]);
        units[n] = info ? info->unit : NULL;
        better[n] = info ? gm_better_name(info->better) : NULL;
    }
    return gm_run_log_describe(log, units, better, err);
}

/* A run just set up: /dataset and the real-data floor (from run 0), the
 * objective's attributes (from a model's first seed) and the run's log. */
static gm_status open_log(trainer *t, job *j, gm_error *err) {
    gm_run *r = &j->run;
    gm_model *m = r->model;
    gm_status s = GM_OK;
    if (r->index == 0) s = write_dataset(t->file, t->e, r->data, err);
    if (s == GM_OK && r->index == 0 && r->n_floor > 0)
        s = gm_runfile_set_floor(t->file, r->floor_rows, r->floor_infos,
                                 r->floor_values, r->n_floor, err);
    for (int a = 0; r->seed == t->e->seeds[0] && a < m->n_attrs; a++)
        if (s == GM_OK)
            s = gm_runfile_set_model_attr(t->file, r->spec->name,
                                          m->attr_names[a], m->attr_values[a],
                                          err);
    if (s != GM_OK) return s;
    if (j->start == START_NEW)
        j->log = gm_runfile_begin_run(t->file, r->spec->name, r->seed, r->names,
                                      r->n_logged, r->k_modes, r->snapshot,
                                      r->dim, err);
    else
        j->log = gm_runfile_continue_run(t->file, r->spec->name, r->seed,
                                         r->names, r->n_logged, r->k_modes,
                                         r->snapshot, r->dim, j->written, err);
    if (!j->log) return err->status;
    const char *names[GM_MAX_EVAL_VECTORS];
    for (int i = 0; i < m->n_eval_vectors; i++)
        names[i] = m->eval_vector_names[i];
    s = gm_run_log_add_vectors(j->log, names, m->eval_vector_lens,
                               m->n_eval_vectors, err);
    return s == GM_OK ? describe_series(j->log, r, err) : s;
}

/* The run was set up and its training ended in an error of its own: it
 * is recorded as failed (gm_run_log_fail) and the others go on. */
static bool run_failed(const job *j) {
    return j->finished && j->set_up && j->status != GM_OK &&
           j->status != GM_INTERRUPTED;
}

/* Writes what job j has published since the last call. Called with the
 * trainer's lock held; drops it while writing. */
static gm_status write_news(trainer *t, job *j, gm_error *err) {
    long ready = j->published;
    bool finished = j->finished, set_up = j->set_up;
    gm_state *state = j->ready;
    j->ready = NULL;
    j->writing = state != NULL;
    pthread_mutex_unlock(&t->lock);
    gm_run *r = &j->run;
    gm_status s = GM_OK;
    pthread_mutex_lock(&t->hdf5);
    if (set_up && !j->logged) {
        s = open_log(t, j, err);
        j->logged = true;
    }
    for (; s == GM_OK && j->log && j->written < ready; j->written++) {
        long k = j->written;
        s = gm_run_log_append(
            j->log, r->row_step[k], r->row_values + k * r->n_logged,
            r->row_modes ? r->row_modes + k * r->k_modes : NULL,
            r->snapshot ? r->row_samples + (size_t)k * r->snapshot * r->dim
                        : NULL,
            r->row_vectors ? r->row_vectors + k * r->model->eval_vector_values
                           : NULL,
            err);
    }
    if (s == GM_OK && state && j->log)
        s = gm_runfile_write_state(t->file, r->spec->name, r->seed, state,
                                   err);
    if (s == GM_OK && finished && j->status == GM_OK && j->log)
        s = gm_run_log_finish(j->log, r->steps_done, r->train_seconds, err);
    if (s == GM_OK && finished && run_failed(j) && j->log)
        s = gm_run_log_fail(j->log, r->steps_done, r->train_seconds,
                            j->err.message, err);
    if (s == GM_OK) s = gm_runfile_flush(t->file, err); /* one version */
    pthread_mutex_unlock(&t->hdf5);
    pthread_mutex_lock(&t->lock);
    if (state) {
        if (j->spare) gm_state_free(state);
        else j->spare = state;
        j->writing = false;
        pthread_cond_broadcast(&t->changed);
    }
    if (s == GM_OK && finished && !j->ready && j->written == j->published) {
        j->done = true;
        pthread_cond_broadcast(&t->changed); /* its worker frees it */
        if (j->status == GM_INTERRUPTED) t->interrupted = true;
        /* A run that failed on its own (a NaN, ...) is recorded as failed
         * and the others go on; one that never set up stops them all. */
        if (j->status != GM_OK && j->status != GM_INTERRUPTED &&
            !run_failed(j)) {
            s = j->status;
            *err = j->err;
        }
    }
    return s;
}

static bool has_news(const job *j) {
    return !j->done &&
           ((j->set_up && !j->logged) || j->published > j->written ||
            j->ready || j->finished);
}

static void prefix_run(gm_error *err, gm_status s, const gm_run *r) {
    char why[GM_ERROR_MAX];
    snprintf(why, sizeof why, "%s", err->message);
    gm_error_set(err, s, "model '%s', seed %llu: %s", r->spec->name,
                 (unsigned long long)r->seed, why);
}

/* Runs the workers (n_local here, then one per slot of the cluster) and
 * writes whatever they publish until every job is done; returns the first
 * failure, its message prefixed with the run. */
static gm_status train_all(trainer *t, int n_local, gm_error *err) {
    int n_threads =
        n_local + (t->cluster ? gm_cluster_remote_slots(t->cluster) : 0);
    pthread_t *threads = calloc((size_t)n_threads, sizeof *threads);
    worker_arg *args = calloc((size_t)n_threads, sizeof *args);
    int started = 0;
    gm_status s = GM_OK;
    pthread_mutex_lock(&t->lock);
    for (; threads && args && started < n_threads; started++, t->workers++) {
        args[started] =
            (worker_arg){t, started < n_local ? -1 : started - n_local};
        if (pthread_create(&threads[started], NULL, worker, &args[started]))
            break;
    }
    if (started == 0)
        s = gm_error_set(err, GM_ERR_NOMEM, "cannot start a worker thread");
    for (int left = t->n_jobs; started > 0 && left > 0;) {
        int i = 0;
        while (i < t->n_jobs && !has_news(&t->jobs[i])) i++;
        if (i == t->n_jobs) {
            /* Every worker gone, the jobs left never begun: stopped. */
            if (t->workers == 0) break;
            pthread_cond_wait(&t->changed, &t->lock);
            continue;
        }
        job *j = &t->jobs[i];
        gm_error job_err = {0};
        gm_status js = write_news(t, j, &job_err);
        if (j->done) left--; /* finished and written: its worker frees it */
        if (js != GM_OK && s == GM_OK) {
            s = js;
            *err = job_err;
            prefix_run(err, s, &j->run);
            t->cancel = true; /* the others checkpoint and stop */
        }
        if (js != GM_OK && !j->done) {
            /* its file writes failed: wait for the run to end, drop it */
            t->cancel = true;
            while (!j->finished) pthread_cond_wait(&t->changed, &t->lock);
            j->done = true;
            pthread_cond_broadcast(&t->changed);
            left--;
        }
    }
    t->cancel = true;
    if (t->next < t->n_jobs) t->interrupted = true;
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    free(args);
    pthread_mutex_lock(&t->hdf5);
    for (int i = 0; i < t->n_jobs; i++) {
        gm_run_log_free(t->jobs[i].log);
        gm_run_free(&t->jobs[i].run);
        gm_state_free(t->jobs[i].ready);
        gm_state_free(t->jobs[i].spare);
    }
    pthread_mutex_unlock(&t->hdf5);
    return s;
}

/* Attrs config and config_digest of model m: the settings its runs
 * train with, which --resume checks. */
static gm_status record_config(trainer *t, int m, gm_error *err) {
    char *text = gm_run_config_text(t->e, &t->e->models[m]);
    if (!text) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx",
             (unsigned long long)gm_run_config_digest(text));
    const char *name = t->e->models[m].name;
    gm_status s = gm_runfile_set_model_text(t->file, name, "config", text, err);
    if (s == GM_OK)
        s = gm_runfile_set_model_text(t->file, name, "config_digest", hex, err);
    free(text);
    return s;
}

/* A new file: every model and the group of every run, in order. */
static gm_status lay_out(trainer *t, gm_error *err) {
    const gm_experiment *e = t->e;
    gm_status s = GM_OK;
    for (int m = 0; s == GM_OK && m < e->n_models; m++) {
        s = gm_runfile_add_model(t->file, e->models[m].name,
                                 e->models[m].objective, &e->models[m].params,
                                 err);
        if (s == GM_OK)
            s = gm_runfile_set_model_sweep(t->file, e->models[m].name,
                                           e->models[m].sweep,
                                           e->models[m].n_sweep, err);
        if (s == GM_OK) s = record_config(t, m, err);
        if (s == GM_OK)
            s = gm_runfile_set_model_text(
                t->file, e->models[m].name, "precision",
                gm_precision_name(e->models[m].train.precision), err);
        for (int k = 0; s == GM_OK && k < e->n_seeds; k++)
            s = gm_runfile_add_run(t->file, e->models[m].name, e->seeds[k],
                                   err);
    }
    return s;
}

/* The file's runs must be the stored experiment's, in its order (they
 * were laid out so): a run the experiment lost would stay pending in a
 * file marked complete, and one it gained has no group. A file with no
 * models was stopped before they were laid out: plan_resume does it. */
static gm_status check_runs(const gm_experiment *e,
                            const gm_runfile_index *idx, gm_error *err) {
    const char *path = e->out;
    if (idx->n_models == 0) return GM_OK;
    for (int m = 0; m < idx->n_models || m < e->n_models; m++) {
        const char *in_file = m < idx->n_models ? idx->models[m].name : NULL;
        const char *stored = m < e->n_models ? e->models[m].name : NULL;
        if (in_file && stored && strcmp(in_file, stored) == 0) continue;
        bool file_has_stored = false, stored_has_file = false;
        for (int i = 0; stored && i < idx->n_models; i++)
            file_has_stored |= strcmp(idx->models[i].name, stored) == 0;
        for (int i = 0; in_file && i < e->n_models; i++)
            stored_has_file |= strcmp(e->models[i].name, in_file) == 0;
        if (in_file && !stored_has_file)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: model '%s' is in the file but not in its "
                                "stored experiment (config_yaml, edited "
                                "since?): its runs would never finish",
                                path, in_file);
        if (stored && !file_has_stored)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: the stored experiment (config_yaml, "
                                "edited since?) has model '%s', which the "
                                "file has no runs of",
                                path, stored);
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: the stored experiment (config_yaml, edited "
                            "since?) has its models in another order than "
                            "the file ('%s' where the file has '%s')",
                            path, stored, in_file);
    }
    for (int m = 0; m < e->n_models; m++) {
        const gm_runfile_model *fm = &idx->models[m];
        for (int k = 0; k < fm->n_seeds || k < e->n_seeds; k++) {
            if (k < fm->n_seeds && k < e->n_seeds &&
                fm->seeds[k].seed == e->seeds[k])
                continue;
            if (k < fm->n_seeds)
                return gm_error_set(
                    err, GM_ERR_INVALID,
                    "%s: model '%s' has a run for seed %llu where the stored "
                    "experiment's seeds (config_yaml, edited since?) %s",
                    path, fm->name, (unsigned long long)fm->seeds[k].seed,
                    k < e->n_seeds ? "have another" : "end");
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: the stored experiment's seeds "
                                "(config_yaml, edited since?) have seed %llu, "
                                "which model '%s' has no run for in the file",
                                path, (unsigned long long)e->seeds[k],
                                fm->name);
        }
    }
    return GM_OK;
}

/* The settings model `name`'s runs were trained with (`stored`, attr
 * config, and its digest) must be those of the stored experiment (`now`):
 * else its checkpoints would go on with other settings than their first
 * steps had. A model of a file of a gm before this check passes if none of
 * its runs has begun (plan_resume then records its settings). */
static gm_status check_config(const char *path, const char *name,
                              const char *now, const char *defaults,
                              const char *stored, const char *digest,
                              bool begun, gm_error *err) {
    if (!stored && !begun) return GM_OK;
    if (!stored)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: model '%s' has no attribute 'config' (a file "
                            "of an older gm, or edited): cannot check that "
                            "its checkpoints were trained with the stored "
                            "experiment's settings",
                            path, name);
    char hex[17], why[GM_ERROR_MAX];
    snprintf(hex, sizeof hex, "%016llx",
             (unsigned long long)gm_run_config_digest(stored));
    if (!digest || strcmp(digest, hex) != 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: model '%s': attribute 'config' does not "
                            "match its config_digest (edited?)",
                            path, name);
    if (gm_run_config_differs(stored, now, defaults, why, sizeof why))
        return gm_error_set(err, GM_ERR_INVALID, "%s: model '%s': %s", path,
                            name, why);
    return GM_OK;
}

/* check_config for every model (the file's are the experiment's, in
 * order: check_runs). */
static gm_status check_configs(const gm_experiment *e, gm_registry *reg,
                               const gm_runfile_index *idx, gm_error *err) {
    if (idx->n_models == 0) return GM_OK; /* not laid out: nothing trained */
    static const char *const attrs[] = {"config", "config_digest"};
    char **texts[2];
    int n_stored = 0;
    gm_status s =
        gm_runfile_read_models_text(e->out, attrs, 2, texts, &n_stored, err);
    char **stored = texts[0], **digests = texts[1];
    if (s == GM_OK && n_stored != e->n_models)
        s = gm_error_set(err, GM_ERR_STATE, "%s: the models changed while "
                         "being read", e->out);
    for (int m = 0; s == GM_OK && m < e->n_models; m++) {
        const gm_model_spec *spec = &e->models[m];
        const gm_objective *o =
            gm_registry_find(reg, spec->objective, spec->plugin, err);
        if (!o) {
            s = err->status;
            break;
        }
        char *now = gm_run_config_text(e, spec);
        char *defaults = gm_run_config_param_defaults(o->schema.hparams,
                                                      o->schema.n_hparams);
        bool begun = false;
        for (int k = 0; k < idx->models[m].n_seeds; k++)
            begun |= idx->models[m].seeds[k].begun;
        s = now && defaults
                ? check_config(e->out, spec->name, now, defaults, stored[m],
                               digests[m], begun, err)
                : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        free(now);
        free(defaults);
    }
    gm_runfile_texts_free(stored, n_stored);
    gm_runfile_texts_free(digests, n_stored);
    return s;
}

/* Before the file is opened for writing, so that a refused resume leaves
 * it as it was: its runs and settings are the stored experiment's. */
static gm_status check_stored_experiment(const gm_experiment *e,
                                         gm_registry *reg, gm_error *err) {
    gm_runfile_index idx;
    gm_status s = gm_runfile_list_models(e->out, &idx, err);
    if (s != GM_OK) return s;
    s = check_runs(e, &idx, err);
    if (s == GM_OK) s = check_configs(e, reg, &idx, err);
    gm_runfile_index_clear(&idx);
    return s;
}

/* Where each run of the experiment stands in the file being resumed;
 * finished runs, and failed ones unless opts->retry_failed, get no job. */
static gm_status plan_resume(trainer *t, gm_error *err) {
    gm_runfile_index idx;
    gm_status s = gm_runfile_list_models(gm_runfile_live_path(t->file), &idx,
                                         err);
    if (s != GM_OK) return s;
    s = check_runs(t->e, &idx, err); /* again, under the writer's lock */
    bool laid_out = idx.n_models > 0;
    if (s == GM_OK && !laid_out) s = lay_out(t, err);
    for (int m = 0; s == GM_OK && laid_out && m < t->e->n_models; m++) {
        char *config = NULL;
        s = gm_runfile_model_text(t->file, t->e->models[m].name, "config",
                                  &config, err);
        if (s == GM_OK && !config) s = record_config(t, m, err);
        free(config);
    }
    bool retry = t->opts && t->opts->retry_failed;
    int n = 0, per_model = t->e->n_seeds;
    for (int k = 0; s == GM_OK && k < t->n_runs; k++) {
        const gm_run *r = &t->jobs[k].run;
        start_kind start = START_NEW;
        if (laid_out) {
            const gm_runfile_seed *found =
                &idx.models[k / per_model].seeds[k % per_model];
            if (found->complete) continue;
            char *status =
                gm_runfile_run_status(t->file, r->spec->name, r->seed);
            bool failed = status && strncmp(status, "failed: ", 8) == 0;
            free(status);
            if (failed && !retry) continue;
            start = !found->begun           ? START_NEW
                    : found->has_checkpoint ? START_CHECKPOINT
                                            : START_FRESH;
        }
        job *j = &t->jobs[n++];
        if (j != &t->jobs[k]) *j = t->jobs[k];
        j->start = start;
    }
    gm_runfile_index_clear(&idx);
    t->n_jobs = n;
    return s;
}

/* Counts the runs the file records as failed, in experiment order, and
 * lists them into `list` ("model 'x', seed 1: step 4: ...; ..."). */
static int failed_runs(trainer *t, char *list, size_t n) {
    const gm_experiment *e = t->e;
    int failed = 0;
    size_t at = 0;
    list[0] = '\0';
    for (int m = 0; m < e->n_models; m++)
        for (int k = 0; k < e->n_seeds; k++) {
            char *status =
                gm_runfile_run_status(t->file, e->models[m].name, e->seeds[k]);
            if (status && strncmp(status, "failed: ", 8) == 0) {
                failed++;
                if (at < n)
                    at += (size_t)snprintf(list + at, n - at,
                                           "%smodel '%s', seed %llu: %s",
                                           at ? "; " : "", e->models[m].name,
                                           (unsigned long long)e->seeds[k],
                                           status + 8);
            }
            free(status);
        }
    return failed;
}

/* Ends the file: /summary (without the failed runs) and status complete,
 * "failed: <k> of <n> runs failed", or why it stopped. Failed runs make
 * the result an error listing them. */
static gm_status finish_file(trainer *t, gm_status s, gm_error *err) {
    gm_error close_err = {0};
    pthread_mutex_lock(&t->hdf5);
    if (s == GM_OK) s = gm_runfile_write_summary(t->file, err);
    char list[GM_ERROR_MAX];
    int failed = s == GM_OK ? failed_runs(t, list, sizeof list) : 0;
    if (s == GM_OK && failed > 0) {
        char status[64];
        snprintf(status, sizeof status, "failed: %d of %d runs failed", failed,
                 t->n_runs);
        s = gm_runfile_set_ended(t->file, status, err);
        const char *at = gm_runfile_path(t->file);
        if (s == GM_OK)
            s = gm_error_set(err, GM_ERR_STATE,
                             "%s in %s (the others are complete; gm summary "
                             "leaves the failed ones out; 'gm run --resume %s "
                             "--retry-failed' tries them again): %s",
                             status + 8, at, at, list);
    } else if (s == GM_OK) {
        s = gm_runfile_set_status(t->file, "complete", err);
    } else if (s == GM_INTERRUPTED) {
        gm_runfile_set_status(t->file, "interrupted", &close_err);
    } else {
        char status[GM_ERROR_MAX + 16];
        snprintf(status, sizeof status, "failed: %s", err->message);
        gm_runfile_set_status(t->file, status, &close_err);
    }
    pthread_mutex_unlock(&t->hdf5);
    gm_status cs = gm_runfile_close(t->file, &close_err);
    t->file = NULL;
    if ((s == GM_OK || failed > 0) && cs != GM_OK) {
        *err = close_err;
        s = cs;
    }
    return s;
}

gm_status gm_train_experiment(const gm_experiment *e, gm_registry *reg,
                              const gm_train_options *opts, gm_error *err) {
    gm_cluster *cluster = opts ? opts->cluster : NULL;
    if (cluster && gm_cluster_rank(cluster) > 0)
        return gm_cluster_serve(cluster, e, reg, opts, err);
    gm_dataset_cache *datasets = gm_dataset_cache_create(&e->dataset);
    if (!datasets) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_image_classifier *classifier = NULL;
    gm_status checked = gm_check_models_on(e, reg, datasets, err);
    if (checked == GM_OK && e->eval_classifier[0] &&
        !(classifier = gm_image_classifier_load(
              e->eval_classifier, e->eval_classifier_model, reg, err)))
        checked = err->status;
    if (checked != GM_OK) {
        gm_dataset_cache_free(datasets);
        return checked;
    }
    trainer t = {.e = e,
                 .opts = opts,
                 .cluster = cluster,
                 .n_runs = e->n_models * e->n_seeds};
    t.n_jobs = t.n_runs;
    t.jobs = calloc((size_t)t.n_runs, sizeof *t.jobs);
    gm_status s =
        t.jobs ? GM_OK : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    for (int m = 0; s == GM_OK && m < e->n_models; m++) {
        const gm_objective *o = gm_registry_find(reg, e->models[m].objective,
                                                 e->models[m].plugin, err);
        if (!o) s = err->status;
        for (int k = 0; o && k < e->n_seeds; k++) {
            gm_run *r = &t.jobs[m * e->n_seeds + k].run;
            *r = (gm_run){.e = e,
                          .spec = &e->models[m],
                          .objective = o,
                          .seed = e->seeds[k],
                          .index = m * e->n_seeds + k,
                          .classifier = classifier,
                          .datasets = datasets};
        }
    }
    bool resume = opts && opts->resume;
    if (s == GM_OK && resume) s = check_stored_experiment(e, reg, err);
    if (s == GM_OK) {
        t.file = resume ? gm_runfile_resume(e->out, err)
                        : gm_runfile_create(e->out,
                                            opts && opts->replace
                                                ? GM_RUNFILE_REPLACE
                                                : GM_RUNFILE_NEW,
                                            e->name, e->config_yaml, err);
        if (!t.file) s = err->status;
    }
    if (s == GM_OK) {
        gm_runfile_defer(t.file);
        s = resume ? plan_resume(&t, err) : lay_out(&t, err);
    }
    if (s == GM_OK) s = gm_runfile_flush(t.file, err);
    if (t.file) {
        pthread_mutex_init(&t.lock, NULL);
        pthread_mutex_init(&t.hdf5, NULL);
        pthread_cond_init(&t.changed, NULL);
        if (s == GM_OK && t.n_jobs > 0) {
            int jobs = opts && opts->jobs > 0 ? opts->jobs : 1;
            jobs = jobs > t.n_jobs ? t.n_jobs : jobs;
            jobs = jobs > GM_MAX_JOBS ? GM_MAX_JOBS : jobs;
            /* The experiment's OpenBLAS threads (1 by default), whatever
             * --jobs is: OpenBLAS's products are not bit-identical across
             * thread counts, and its count is process-wide
             * (docs/performance.md). */
            gm_blas_set_threads(e->blas_threads);
            s = gm_blas_buffers_ready(jobs, err);
            if (s == GM_OK) s = train_all(&t, jobs, err);
        }
        if (s == GM_OK && t.interrupted)
            s = gm_error_set(err, GM_INTERRUPTED, "interrupted");
        s = finish_file(&t, s, err);
        pthread_cond_destroy(&t.changed);
        pthread_mutex_destroy(&t.hdf5);
        pthread_mutex_destroy(&t.lock);
    }
    free(t.jobs);
    gm_image_classifier_free(classifier);
    gm_dataset_cache_free(datasets);
    return s;
}
