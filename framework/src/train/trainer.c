/* The experiment: every (model, seed) run, trained by `jobs` worker
 * threads, while this thread writes the runs to the run file in experiment
 * order (models, then seeds), each evaluation as soon as it is published.
 * Runs share nothing but the read-only experiment, so the file is the same
 * whatever the number of jobs. */
#include <pthread.h>
#include <string.h>

#include "gm/runfile.h"
#include "run.h"

typedef struct job {
    gm_run run;
    gm_status status;
    gm_error err;
    bool set_up, finished; /* under the trainer's lock */
    long published;        /* rows ready to write, under the lock */
} job;

typedef struct trainer {
    const gm_experiment *e;
    const gm_train_options *opts;
    job *jobs;
    int n_jobs;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* The HDF5 library is not thread-safe: the run file's writes and a
     * worker's dataset set-up (which may read an HDF5 file) take turns. */
    pthread_mutex_t hdf5;
    int next; /* the next job a worker takes */
    bool cancel;
} trainer;

static job *job_of(trainer *t, gm_run *r) { return &t->jobs[r->index]; }

static void on_published(gm_run *r, void *ctx) {
    trainer *t = ctx;
    pthread_mutex_lock(&t->lock);
    job_of(t, r)->published = r->n_rows;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

static bool on_cancelled(void *ctx) {
    trainer *t = ctx;
    pthread_mutex_lock(&t->lock);
    bool c = t->cancel;
    pthread_mutex_unlock(&t->lock);
    return c;
}

static void on_progress(gm_run *r, bool evaluation, void *ctx) {
    trainer *t = ctx;
    if (!t->opts || !t->opts->progress) return;
    long steps = r->spec->train.steps;
    double rate =
        r->steps_done / (r->train_seconds > 0 ? r->train_seconds : 1e-9);
    long last = r->n_rows - 1;
    gm_progress p = {
        .model = r->spec->name,
        .seed = r->seed,
        .run_index = r->index,
        .n_runs = t->n_jobs,
        .step = r->steps_done,
        .steps = steps,
        .steps_per_second = rate,
        .eta_seconds = (steps - r->steps_done) / rate,
        .evaluation = evaluation,
        .metric_names = r->names,
        .metrics = last >= 0 ? r->row_values + last * r->n_logged : NULL,
        .n_metrics = last >= 0 ? r->n_logged : 0,
    };
    pthread_mutex_lock(&t->lock); /* one report at a time */
    t->opts->progress(&p, t->opts->progress_ctx);
    pthread_mutex_unlock(&t->lock);
}

static void *worker(void *arg) {
    trainer *t = arg;
    gm_run_callbacks cb = {.published = on_published,
                           .progress = on_progress,
                           .cancelled = on_cancelled,
                           .ctx = t,
                           .progress_interval =
                               t->opts ? t->opts->progress_interval : 0};
    for (;;) {
        pthread_mutex_lock(&t->lock);
        int i = t->cancel || t->next == t->n_jobs ? -1 : t->next++;
        pthread_mutex_unlock(&t->lock);
        if (i < 0) return NULL;
        job *j = &t->jobs[i];
        pthread_mutex_lock(&t->hdf5);
        gm_status s = gm_run_setup(&j->run, &j->err);
        pthread_mutex_unlock(&t->hdf5);
        pthread_mutex_lock(&t->lock);
        j->set_up = s == GM_OK;
        pthread_cond_broadcast(&t->changed);
        pthread_mutex_unlock(&t->lock);
        if (s == GM_OK) s = gm_run_train(&j->run, &cb, &j->err);
        pthread_mutex_lock(&t->lock);
        j->status = s;
        j->finished = true;
        pthread_cond_broadcast(&t->changed);
        pthread_mutex_unlock(&t->lock);
    }
}

/* /dataset, from the first run's dataset (the first seed's data). */
static gm_status write_dataset(gm_runfile *file, const gm_experiment *e,
                               const gm_dataset *d, gm_error *err) {
    const gm_dataset_spec *ds = &e->dataset;
    bool ring = strcmp(ds->name, "ring") == 0;
    bool grid = strcmp(ds->name, "grid") == 0;
    const char *names[6];
    double values[6];
    int n = 0;
    if (ring) {
        names[n] = "modes", values[n++] = ds->modes;
        names[n] = "radius", values[n++] = ds->radius;
    }
    if (grid) {
        names[n] = "side", values[n++] = ds->side;
        names[n] = "spacing", values[n++] = ds->spacing;
    }
    names[n] = "size", values[n++] = (double)gm_dataset_rows(d);
    names[n] = "dim", values[n++] = gm_dataset_dim(d);
    return gm_runfile_set_dataset(file, ds->name, names, values, n,
                                  gm_dataset_centers(d), gm_dataset_modes(d),
                                  gm_dataset_dim(d), gm_dataset_std(d), err);
}

/* Writes job j's rows as they come, then its checkpoint and totals. */
static gm_status write_job(trainer *t, gm_runfile *file, job *j,
                           gm_error *err) {
    pthread_mutex_lock(&t->lock);
    while (!j->set_up && !j->finished)
        pthread_cond_wait(&t->changed, &t->lock);
    bool set_up = j->set_up;
    pthread_mutex_unlock(&t->lock);
    gm_run *r = &j->run;
    if (!set_up) {
        *err = j->err;
        return j->status;
    }
    gm_model *m = r->model;
    gm_status s = GM_OK;
    pthread_mutex_lock(&t->hdf5);
    if (r->index == 0) s = write_dataset(file, t->e, r->data, err);
    if (s == GM_OK && r->seed == t->e->seeds[0])
        s = gm_runfile_add_model(file, r->spec->name, r->spec->objective,
                                 &r->spec->params, err);
    for (int a = 0; r->seed == t->e->seeds[0] && a < m->n_attrs; a++)
        if (s == GM_OK)
            s = gm_runfile_set_model_attr(file, r->spec->name, m->attr_names[a],
                                          m->attr_values[a], err);
    gm_run_log *log =
        s == GM_OK ? gm_runfile_begin_run(file, r->spec->name, r->seed,
                                          r->names, r->n_logged, r->k_modes,
                                          r->snapshot, r->dim, err)
                   : NULL;
    pthread_mutex_unlock(&t->hdf5);
    if (!log) return s != GM_OK ? s : err->status;
    for (long written = 0;;) {
        pthread_mutex_lock(&t->lock);
        while (j->published == written && !j->finished)
            pthread_cond_wait(&t->changed, &t->lock);
        long ready = j->published;
        bool finished = j->finished;
        if (s != GM_OK) /* writing failed: stop the run, wait for it */
            for (t->cancel = true; !j->finished;)
                pthread_cond_wait(&t->changed, &t->lock);
        pthread_mutex_unlock(&t->lock);
        if (s != GM_OK) break;
        pthread_mutex_lock(&t->hdf5);
        for (; s == GM_OK && written < ready; written++)
            s = gm_run_log_append(
                log, r->row_step[written],
                r->row_values + written * r->n_logged,
                r->row_modes ? r->row_modes + written * r->k_modes : NULL,
                r->row_samples + (size_t)written * r->snapshot * r->dim, err);
        pthread_mutex_unlock(&t->hdf5);
        if (s == GM_OK && finished && written == ready) break;
    }
    if (s == GM_OK && j->status != GM_OK) {
        s = j->status;
        *err = j->err;
    }
    pthread_mutex_lock(&t->hdf5);
    if (s == GM_OK) {
        gm_params *groups[GM_MAX_GROUPS];
        gm_optim *optims[GM_MAX_GROUPS];
        int n = gm_run_checkpoint_parts(r, groups, optims);
        s = gm_runfile_write_checkpoint(file, r->spec->name, r->seed, groups, n,
                                        optims, err);
    }
    gm_error finish_err = {0};
    gm_status fs =
        gm_run_log_finish(log, r->steps_done, r->train_seconds, &finish_err);
    if (s == GM_OK && fs != GM_OK) {
        s = fs;
        *err = finish_err;
    }
    gm_run_log_free(log);
    pthread_mutex_unlock(&t->hdf5);
    return s;
}

/* Runs the workers and writes every job in order; returns the first
 * failure, its message prefixed with the run. */
static gm_status train_all(trainer *t, gm_runfile *file, int n_threads,
                           gm_error *err) {
    pthread_t threads[GM_MAX_JOBS];
    int started = 0;
    gm_status s = GM_OK;
    for (; started < n_threads; started++)
        if (pthread_create(&threads[started], NULL, worker, t) != 0) break;
    if (started == 0)
        s = gm_error_set(err, GM_ERR_NOMEM, "cannot start a worker thread");
    for (int i = 0; s == GM_OK && i < t->n_jobs; i++) {
        job *j = &t->jobs[i];
        s = write_job(t, file, j, err);
        if (s == GM_OK) {
            gm_run_free(&j->run); /* finished and written */
            continue;
        }
        char why[GM_ERROR_MAX];
        snprintf(why, sizeof why, "%s", err->message);
        gm_error_set(err, s, "model '%s', seed %llu: %s", j->run.spec->name,
                     (unsigned long long)j->run.seed, why);
    }
    pthread_mutex_lock(&t->lock);
    t->cancel = true; /* after a failure, the others stop at their next step */
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < t->n_jobs; i++)
        gm_run_free(&t->jobs[i].run);
    return s;
}

gm_status gm_train_experiment(const gm_experiment *e, gm_registry *reg,
                              const gm_train_options *opts, gm_error *err) {
    trainer t = {.e = e, .opts = opts, .n_jobs = e->n_models * e->n_seeds};
    t.jobs = calloc((size_t)t.n_jobs, sizeof *t.jobs);
    if (!t.jobs) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_status s = GM_OK;
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
                          .index = m * e->n_seeds + k};
        }
    }
    gm_runfile *file =
        s == GM_OK ? gm_runfile_create(e->out, e->name, e->config_yaml, err)
                   : NULL;
    if (s == GM_OK && !file) s = err->status;
    if (s == GM_OK) {
        int jobs = opts && opts->jobs > 0 ? opts->jobs : 1;
        jobs = jobs > t.n_jobs ? t.n_jobs : jobs;
        jobs = jobs > GM_MAX_JOBS ? GM_MAX_JOBS : jobs;
        /* One OpenBLAS thread per run, whatever --jobs is: OpenBLAS's
         * products are not bit-identical across thread counts, and its
         * count is process-wide (docs/performance.md). */
        gm_blas_set_threads(1);
        pthread_mutex_init(&t.lock, NULL);
        pthread_mutex_init(&t.hdf5, NULL);
        pthread_cond_init(&t.changed, NULL);
        s = train_all(&t, file, jobs, err);
        pthread_cond_destroy(&t.changed);
        pthread_mutex_destroy(&t.hdf5);
        pthread_mutex_destroy(&t.lock);
    }
    if (file) {
        gm_error close_err = {0};
        if (s == GM_OK) s = gm_runfile_write_summary(file, err);
        if (s == GM_OK) {
            s = gm_runfile_set_status(file, "complete", err);
        } else {
            char status[GM_ERROR_MAX + 16];
            snprintf(status, sizeof status, "failed: %s", err->message);
            gm_runfile_set_status(file, status, &close_err);
        }
        gm_status cs = gm_runfile_close(file, &close_err);
        if (s == GM_OK && cs != GM_OK) {
            *err = close_err;
            s = cs;
        }
    }
    free(t.jobs);
    return s;
}
