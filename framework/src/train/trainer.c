/* The experiment loop: models, then seeds, then steps, with evaluations
 * logged to the run file as they happen. */
#include "gm/train.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "gm/data.h"
#include "gm/kde.h"
#include "gm/metrics.h"
#include "gm/runfile.h"
#include "model.h"

#define MAX_LOGGED (GM_MAX_METRICS + GM_MAX_EVAL_METRICS + 8)
/* Rows of held-out data handed to an objective's evaluate hook. */
#define EVAL_ROWS 1000
/* Sample snapshots of high-dimensional data keep this many rows. */
#define IMAGE_SNAPSHOT 64

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Everything one (model, seed) run holds, freed in one place. */
typedef struct run {
    gm_dataset *data;
    gm_batcher *batcher;
    gm_model *model;
    gm_run_log *log;
    float *samples;
    int *mode_counts;
    const char *names[MAX_LOGGED];
    double values[MAX_LOGGED];
    int n_logged, snapshot;
    int iwae_index; /* where iwae_logpx sits in values, or -1 */
} run;

static void run_free(run *r) {
    gm_run_log_free(r->log);
    gm_model_free(r->model);
    gm_batcher_free(r->batcher);
    gm_dataset_free(r->data);
    free(r->samples);
    free(r->mode_counts);
}

static void next_batch(void *batcher, float *out) {
    gm_batcher_next(batcher, out);
}

static gm_status run_setup(run *r, const gm_experiment *e,
                           const gm_model_spec *spec,
                           const gm_objective *objective, uint64_t seed,
                           gm_runfile *file, gm_error *err) {
    gm_rng data = gm_rng_stream(seed, "data");
    gm_rng init = gm_rng_stream(seed, "init");
    gm_rng noise = gm_rng_stream(seed, "noise");
    r->data = gm_dataset_create(&e->dataset, &data, err);
    if (!r->data) return err->status;
    if ((size_t)spec->train.batch_size > gm_dataset_rows(r->data))
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': batch_size %d exceeds the %zu rows "
                            "of the dataset",
                            spec->name, spec->train.batch_size,
                            gm_dataset_rows(r->data));
    r->batcher = gm_batcher_create(r->data, spec->train.batch_size,
                                   gm_rng_stream(seed, "batches"), err);
    if (!r->batcher) return err->status;
    int dim = gm_dataset_dim(r->data);
    gm_build_ctx ctx = {.spec = spec,
                        .data_dim = dim,
                        .batch_size = spec->train.batch_size,
                        .sample_count = e->eval_samples,
                        .data = r->data,
                        .seed = seed,
                        .init = &init,
                        .noise = &noise};
    r->model = gm_model_create(objective, &ctx, err);
    if (!r->model) return err->status;
    gm_model *m = r->model;
    for (int i = 0; i < m->n_train_metrics; i++)
        r->names[r->n_logged++] = m->metric_names[i];
    for (int i = 0; i < m->n_eval_metrics; i++)
        r->names[r->n_logged++] = m->eval_names[i];
    int k = gm_dataset_modes(r->data);
    if (k > 0) {
        r->names[r->n_logged++] = "modes_covered";
        r->names[r->n_logged++] = "hq_fraction";
        r->mode_counts = calloc((size_t)k, sizeof *r->mode_counts);
    }
    if (gm_dataset_has_density(r->data)) {
        r->names[r->n_logged++] = "kl_data_model";
        r->names[r->n_logged++] = "kl_model_data";
        r->names[r->n_logged++] = "kde_bandwidth";
        r->iwae_index = -1;
        for (int i = 0; i < m->n_eval_metrics; i++)
            if (strcmp(m->eval_names[i], "iwae_logpx") == 0)
                r->iwae_index = m->n_train_metrics + i;
        if (r->iwae_index >= 0)
            r->names[r->n_logged++] = "kl_data_model_iwae";
    }
    r->samples = malloc((size_t)e->eval_samples * dim * sizeof *r->samples);
    if (!r->samples || (k > 0 && !r->mode_counts))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    r->snapshot = dim <= 16 || e->eval_samples < IMAGE_SNAPSHOT
                      ? e->eval_samples
                      : IMAGE_SNAPSHOT;
    r->log = gm_runfile_begin_run(file, spec->name, seed, r->names,
                                  r->n_logged, k, r->snapshot, dim, err);
    return r->log ? GM_OK : err->status;
}

/* Held-out rows for the evaluate hook: the test split if there is one. */
static const float *eval_rows(const gm_dataset *d, int *n) {
    if (gm_dataset_test_rows(d) > 0) {
        *n = (int)fmin((double)gm_dataset_test_rows(d), EVAL_ROWS);
        return gm_dataset_test_data(d);
    }
    *n = (int)fmin((double)gm_dataset_rows(d), EVAL_ROWS);
    return gm_dataset_data(d);
}

static double log_p_data(const float *x, const void *data) {
    return gm_dataset_log_density(data, x);
}

/* Both KL directions by the same KDE estimator for every model, against
 * as many data rows as there are samples; for VAEs also the forward KL
 * with the IWAE density on the evaluation rows. Returns the next slot. */
static int log_kl_estimates(run *r, const gm_experiment *e, int at) {
    int dim = gm_dataset_dim(r->data);
    int n_data = (int)fmin((double)gm_dataset_rows(r->data), e->eval_samples);
    gm_kl_estimate kl = gm_kl_estimate_kde(
        r->samples, e->eval_samples, gm_dataset_data(r->data), n_data, dim,
        log_p_data, r->data);
    r->values[at++] = kl.forward;
    r->values[at++] = kl.reverse;
    r->values[at++] = kl.bandwidth;
    if (r->iwae_index >= 0) {
        int n;
        const float *rows = eval_rows(r->data, &n);
        double mean_log_p = 0.0;
        for (int i = 0; i < n; i++)
            mean_log_p += gm_dataset_log_density(r->data, rows + (size_t)i * dim);
        r->values[at++] = mean_log_p / n - r->values[r->iwae_index];
    }
    return at;
}

static gm_status evaluate(run *r, const gm_experiment *e, long step,
                          gm_error *err) {
    gm_model *m = r->model;
    gm_model_take_train_metrics(m, r->values);
    int at = m->n_train_metrics;
    if (m->hooks.evaluate) {
        int n;
        const float *rows = eval_rows(r->data, &n);
        gm_status s =
            m->hooks.evaluate(m->hooks.state, rows, n, r->values + at, err);
        if (s != GM_OK) return s;
    }
    at += m->n_eval_metrics;
    gm_model_sample(m, r->samples);
    if (r->mode_counts) {
        gm_mode_stats ms = gm_mode_stats_compute(r->data, r->samples,
                                                 e->eval_samples,
                                                 r->mode_counts);
        r->values[at++] = ms.modes_covered;
        r->values[at++] = ms.hq_fraction;
    }
    if (gm_dataset_has_density(r->data))
        at = log_kl_estimates(r, e, at);
    return gm_run_log_append(r->log, step, r->values, r->mode_counts,
                             r->samples, err);
}

static void report(const gm_train_options *o, gm_progress *p, const run *r,
                   bool evaluation) {
    if (!o || !o->progress) return;
    p->evaluation = evaluation;
    p->metric_names = r->names;
    p->metrics = r->values;
    p->n_metrics = r->n_logged;
    o->progress(p, o->progress_ctx);
}

/* Trains one (model, seed) run; on failure err says why, prefixed with
 * the run. */
static gm_status train_run(const gm_experiment *e, const gm_model_spec *spec,
                           const gm_objective *objective, uint64_t seed,
                           gm_runfile *file, const gm_train_options *o,
                           gm_progress *p, gm_error *err) {
    run r = {0};
    gm_status s = run_setup(&r, e, spec, objective, seed, file, err);
    long steps = spec->train.steps, step = 0;
    double train_seconds = 0.0, last_report = seconds_now();
    for (step = 1; s == GM_OK && step <= steps; step++) {
        double t0 = seconds_now();
        s = gm_model_train_step(r.model, step, next_batch, r.batcher, err);
        double t1 = seconds_now();
        train_seconds += t1 - t0;
        if (s != GM_OK) break;
        p->step = step;
        p->steps_per_second = step / fmax(train_seconds, 1e-9);
        p->eta_seconds = (steps - step) / p->steps_per_second;
        bool eval = step % e->eval_every == 0 || step == steps;
        if (eval) s = evaluate(&r, e, step, err);
        if (s == GM_OK && (eval || (o && o->progress_interval > 0 &&
                                    t1 - last_report >= o->progress_interval))) {
            report(o, p, &r, eval);
            last_report = t1;
        }
    }
    if (s == GM_OK) {
        gm_optim *optims[GM_MAX_GROUPS] = {0};
        for (int g = 0; g < r.model->n_owned; g++)
            for (int ph = 0; ph < r.model->n_phases; ph++)
                for (int i = 0; i < r.model->phases[ph].n_groups; i++)
                    if (r.model->phases[ph].groups[i] == r.model->owned[g])
                        optims[g] = r.model->phases[ph].optims[i];
        s = gm_runfile_write_checkpoint(file, spec->name, seed,
                                        r.model->owned, r.model->n_owned,
                                        optims, err);
    }
    if (r.log) {
        gm_error finish_err = {0};
        long done = s == GM_OK ? steps : step - 1;
        gm_status fs = gm_run_log_finish(r.log, done < 0 ? 0 : done,
                                         train_seconds, &finish_err);
        if (s == GM_OK && fs != GM_OK) {
            s = fs;
            *err = finish_err;
        }
    }
    run_free(&r);
    if (s != GM_OK) {
        char why[GM_ERROR_MAX];
        snprintf(why, sizeof why, "%s", err->message);
        gm_error_set(err, s, "model '%s', seed %llu: %s", spec->name,
                     (unsigned long long)seed, why);
    }
    return s;
}

static gm_status write_dataset(gm_runfile *file, const gm_experiment *e,
                               gm_error *err) {
    gm_rng data = gm_rng_stream(e->seeds[0], "data");
    gm_dataset *d = gm_dataset_create(&e->dataset, &data, err);
    if (!d) return err->status;
    const gm_dataset_spec *ds = &e->dataset;
    const char *names[] = {"modes", "radius", "side", "spacing", "size", "dim"};
    double values[] = {ds->modes,  ds->radius,  ds->side, ds->spacing,
                       (double)gm_dataset_rows(d), gm_dataset_dim(d)};
    bool ring = strcmp(ds->name, "ring") == 0;
    bool grid = strcmp(ds->name, "grid") == 0;
    /* Only the parameters of this dataset's kind, then size and dim. */
    const char *n_sel[6];
    double v_sel[6];
    int n = 0;
    for (int i = 0; i < 6; i++) {
        bool keep = i >= 4 || (ring && i < 2) || (grid && (i == 2 || i == 3));
        if (keep) {
            n_sel[n] = names[i];
            v_sel[n++] = values[i];
        }
    }
    gm_status s = gm_runfile_set_dataset(
        file, ds->name, n_sel, v_sel, n, gm_dataset_centers(d),
        gm_dataset_modes(d), gm_dataset_dim(d), gm_dataset_std(d), err);
    gm_dataset_free(d);
    return s;
}

gm_status gm_train_experiment(const gm_experiment *e, gm_registry *reg,
                              const gm_train_options *opts, gm_error *err) {
    gm_runfile *file =
        gm_runfile_create(e->out, e->name, e->config_yaml, err);
    if (!file) return err->status;
    gm_status s = write_dataset(file, e, err);
    gm_progress p = {.n_runs = e->n_models * e->n_seeds};
    for (int i = 0; s == GM_OK && i < e->n_models; i++) {
        const gm_model_spec *spec = &e->models[i];
        const gm_objective *obj =
            gm_registry_find(reg, spec->objective, spec->plugin, err);
        if (!obj) {
            s = err->status;
            break;
        }
        s = gm_runfile_add_model(file, spec->name, spec->objective,
                                 &spec->params, err);
        for (int k = 0; s == GM_OK && k < e->n_seeds; k++) {
            p.model = spec->name;
            p.seed = e->seeds[k];
            p.run_index = i * e->n_seeds + k;
            p.steps = spec->train.steps;
            s = train_run(e, spec, obj, e->seeds[k], file, opts, &p, err);
        }
    }
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
    return s;
}
