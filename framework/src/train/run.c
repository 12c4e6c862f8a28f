/* One (model, seed) run: setup, the step loop, and evaluations. */
#include "run.h"

#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "gm/metric_info.h"
#include "own_metrics.h"

/* Rows handed to an objective's evaluate hook by default when the dataset
 * has no test split (eval.held_out sets it). */
#define EVAL_TRAIN_ROWS 1000
/* Sample snapshots of high-dimensional data keep this many rows. */
#define IMAGE_SNAPSHOT 64

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void next_batch(void *batcher, float *x, float *labels) {
    gm_batcher_next(batcher, x, labels);
}

/* One of the objective's metrics, which gm_model_create found declared. */
static void add_metric(gm_run *r, const gm_objective_schema *schema,
                       const char *name) {
    GM_ASSERT(r->n_logged < GM_RUN_MAX_LOGGED);
    r->infos[r->n_logged] = gm_metric_info_of(schema, name);
    GM_ASSERT(r->infos[r->n_logged]);
    r->names[r->n_logged++] = name;
}

static gm_status alloc_rows(gm_run *r, gm_error *err) {
    long steps = r->spec->train.steps, every = r->e->eval_every;
    r->cap_rows = steps / every + (steps % every != 0);
    size_t rows = (size_t)r->cap_rows;
    r->row_step = calloc(rows, sizeof *r->row_step);
    r->row_values = calloc(rows * r->n_logged, sizeof *r->row_values);
    r->row_samples =
        calloc(rows * r->snapshot * r->dim, sizeof *r->row_samples);
    if (r->k_modes)
        r->row_modes = calloc(rows * r->k_modes, sizeof *r->row_modes);
    /* whole draws of the sampler: the last one may go past eval.samples;
     * kept only for metrics that read every sample at once (mixtures'),
     * 245 MB for 26,000 Stacked Fashion-MNIST images */
    int draw = r->model->sample_count, n = r->e->eval_samples;
    size_t drawn = (size_t)((n + draw - 1) / draw) * (size_t)draw;
    r->samples = r->model->samples && gm_own_metrics_need_all_samples(r)
                     ? malloc(drawn * (size_t)r->dim * sizeof(float))
                     : NULL;
    const gm_model *m = r->model;
    int vec = m->eval_vector_values;
    r->eval_out =
        malloc((size_t)(m->n_eval_metrics + vec + 1) * sizeof *r->eval_out);
    if (vec) r->row_vectors = calloc(rows * vec, sizeof *r->row_vectors);
    r->state = gm_state_create();
    r->checkpoint_step = -1;
    if (!r->row_step || !r->row_values || (r->snapshot && !r->row_samples) ||
        (r->model->samples && gm_own_metrics_need_all_samples(r) &&
         !r->samples) ||
        (r->k_modes && !r->row_modes) ||
        !r->state || !r->eval_out || (vec && !r->row_vectors))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    return GM_OK;
}

/* Held-out rows for the evaluate hook: eval.held_out rows (0: the whole
 * test split, or EVAL_TRAIN_ROWS training rows without one). *test: from
 * the test split; *have: the rows there are. */
static long held_out_want(const gm_experiment *e, const gm_dataset *d,
                          bool *test, size_t *have) {
    *test = gm_dataset_test_rows(d) > 0;
    *have = *test ? gm_dataset_test_rows(d) : gm_dataset_rows(d);
    if (e->eval_held_out != 0) return e->eval_held_out;
    return *test ? (long)fmin((double)*have, INT_MAX)
                 : (long)fmin((double)*have, EVAL_TRAIN_ROWS);
}

gm_status gm_run_check_dataset_fits(const gm_experiment *e,
                                    const gm_model_spec *spec,
                                    const gm_dataset *d, gm_error *err) {
    if ((size_t)spec->train.batch_size > gm_dataset_rows(d))
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': train.batch_size %d exceeds the %zu "
                            "rows of the dataset",
                            spec->name, spec->train.batch_size,
                            gm_dataset_rows(d));
    bool test;
    size_t have;
    long want = held_out_want(e, d, &test, &have);
    if ((size_t)want > have)
        return gm_error_set(err, GM_ERR_INVALID,
                            "eval.held_out %ld exceeds the %zu %s rows of the "
                            "dataset",
                            want, have, test ? "test" : "training");
    return GM_OK;
}

static void held_out_rows(gm_run *r) {
    const gm_dataset *d = r->data;
    bool test;
    size_t have;
    r->n_held_out = (int)held_out_want(r->e, d, &test, &have);
    r->held_out = test ? gm_dataset_test_data(d) : gm_dataset_data(d);
    r->held_out_labels =
        test ? gm_dataset_test_labels(d) : gm_dataset_labels(d);
}

gm_status gm_run_setup(gm_run *r, gm_error *err) {
    const gm_model_spec *spec = r->spec;
    gm_rng init = gm_rng_stream(r->seed, "init");
    gm_rng noise = gm_rng_stream(r->seed, "noise");
    r->data = gm_dataset_cache_get(r->datasets, r->seed, err);
    if (!r->data) return err->status;
    if (gm_run_check_dataset_fits(r->e, spec, r->data, err) != GM_OK)
        return err->status;
    r->batcher = gm_batcher_create(r->data, spec->train.batch_size,
                                   gm_rng_stream(r->seed, "batches"), err);
    if (!r->batcher) return err->status;
    r->dim = gm_dataset_dim(r->data);
    held_out_rows(r);
    gm_build_ctx ctx = {.spec = spec,
                        .data_dim = r->dim,
                        .batch_size = spec->train.batch_size,
                        .sample_count = gm_sampler_rows(r->e->eval_samples),
                        .eval_rows = r->n_held_out,
                        .data = r->data,
                        .seed = r->seed,
                        .init = &init,
                        .noise = &noise};
    r->model = gm_model_create(r->objective, &ctx, err);
    if (!r->model) return err->status;
    gm_model *m = r->model;
    if (gm_model_uses_labels(m) && !gm_dataset_labels(r->data))
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s' trains on labels and dataset %s has "
                            "none",
                            spec->name, gm_dataset_name(r->data));
    const gm_objective_schema *schema = &r->objective->schema;
    for (int i = 0; i < m->n_train_metrics; i++)
        add_metric(r, schema, m->metric_names[i]);
    for (int i = 0; i < m->n_eval_metrics; i++)
        add_metric(r, schema, m->eval_names[i]);
    gm_status own = gm_own_metrics_setup(r, err);
    if (own != GM_OK) return own;
    /* no sample snapshots for a model that does not generate */
    r->snapshot = !m->samples ? 0
                  : r->dim <= 16 || r->e->eval_samples < IMAGE_SNAPSHOT
                      ? r->e->eval_samples
                      : IMAGE_SNAPSHOT;
    gm_status rows = alloc_rows(r, err);
    /* the real-data floor, once per file: by its first run */
    return rows == GM_OK && r->index == 0 ? gm_own_metrics_floor(r, err) : rows;
}

/* Draws eval.samples samples a sampler's draw at a time, handing each to
 * gm's own metrics (and keeping them all in r->samples for those that
 * read them at once), and the first r->snapshot into snapshot
 * [snapshot, dim]. */
static void draw_samples(gm_run *r, float *snapshot) {
    gm_model *m = r->model;
    int n = r->e->eval_samples, draw = m->sample_count;
    size_t row_bytes = (size_t)r->dim * sizeof(float);
    gm_own_metrics_begin(r);
    for (int drawn = 0; m->samples && drawn < n; drawn += draw) {
        const float *x = gm_model_draw(m);
        if (r->samples)
            memcpy(r->samples + (size_t)drawn * r->dim, x, draw * row_bytes);
        int kept = r->snapshot - drawn < draw ? r->snapshot - drawn : draw;
        if (kept > 0)
            memcpy(snapshot + (size_t)drawn * r->dim, x, kept * row_bytes);
        gm_own_metrics_add(r, x, n - drawn < draw ? n - drawn : draw);
    }
}

/* Fills the next row: training averages, the objective's evaluation,
 * samples, and gm's own metrics of them. */
static gm_status evaluate(gm_run *r, long step, gm_error *err) {
    GM_ASSERT(r->n_rows < r->cap_rows);
    gm_model *m = r->model;
    long k = r->n_rows;
    double *row = r->row_values + k * r->n_logged;
    gm_model_take_train_metrics(m, row);
    int at = m->n_train_metrics;
    if (m->hooks.evaluate) {
        gm_status s =
            gm_model_evaluate(m, r->held_out, r->held_out_labels,
                              r->n_held_out, r->eval_out, err);
        if (s != GM_OK) return s;
        memcpy(row + at, r->eval_out, (size_t)m->n_eval_metrics * sizeof *row);
        const double *v = r->eval_out + m->n_eval_metrics;
        for (int i = 0; i < m->n_eval_vectors; v += m->eval_vector_lens[i++])
            for (int j = 0; j < m->eval_vector_lens[i]; j++)
                if (!isfinite(v[j]))
                    return gm_error_set(err, GM_ERR_NUMERIC,
                                        "step %ld: %s[%d] is %g", step,
                                        m->eval_vector_names[i], j, v[j]);
        int vec = m->eval_vector_values;
        if (vec)
            memcpy(r->row_vectors + k * vec, r->eval_out + m->n_eval_metrics,
                   (size_t)vec * sizeof *r->row_vectors);
    }
    at += m->n_eval_metrics;
    draw_samples(r, r->row_samples + (size_t)k * r->snapshot * r->dim);
    int *mode_counts = r->k_modes ? r->row_modes + k * r->k_modes : NULL;
    at = gm_own_metrics_compute(r, row, at, mode_counts);
    for (int i = m->n_train_metrics; i < at; i++)
        if (!isfinite(row[i]))
            return gm_error_set(err, GM_ERR_NUMERIC, "step %ld: %s is %g", step,
                                r->names[i], row[i]);
    r->row_step[k] = step;
    r->n_rows++;
    return GM_OK;
}

/* The run's whole state into r->state, handed to the callback. */
static gm_status checkpoint(gm_run *r, const gm_run_callbacks *cb,
                            gm_error *err) {
    gm_state *s = r->state;
    gm_state_reset(s);
    gm_status st = gm_state_put_i64(s, "run/step", r->steps_done, err);
    if (st == GM_OK) st = gm_state_put_i64(s, "run/rows", r->n_rows, err);
    if (st == GM_OK)
        st = gm_state_put_f64(s, "run/train_seconds", &r->train_seconds, 1,
                              err);
    if (st == GM_OK) st = gm_batcher_save_state(r->batcher, s, "batcher", err);
    if (st == GM_OK) st = gm_model_save_state(r->model, s, err);
    if (st != GM_OK) return st;
    r->checkpoint_step = r->steps_done;
    if (cb->checkpointed) cb->checkpointed(r, cb->ctx);
    return GM_OK;
}

gm_status gm_run_load_state(gm_run *r, const gm_state *s, gm_error *err) {
    int64_t step = 0, rows = 0;
    gm_status st = gm_state_get_i64(s, "run/step", &step, err);
    if (st == GM_OK) st = gm_state_get_i64(s, "run/rows", &rows, err);
    if (st == GM_OK)
        st = gm_state_get(s, "run/train_seconds", GM_STATE_F64, 1,
                          &r->train_seconds, err);
    if (st == GM_OK && (step < 0 || step > r->spec->train.steps || rows < 0 ||
                        rows > r->cap_rows))
        st = gm_error_set(err, GM_ERR_INVALID,
                          "the checkpoint's step %lld or row %lld does not "
                          "fit this run of %ld steps",
                          (long long)step, (long long)rows,
                          r->spec->train.steps);
    if (st == GM_OK) st = gm_batcher_load_state(r->batcher, s, "batcher", err);
    if (st == GM_OK) st = gm_model_load_state(r->model, s, err);
    if (st != GM_OK) return st;
    r->steps_done = (long)step;
    r->n_rows = r->first_row = (long)rows;
    r->checkpoint_step = (long)step;
    return GM_OK;
}

gm_status gm_run_train(gm_run *r, const gm_run_callbacks *cb, gm_error *err) {
    long steps = r->spec->train.steps;
    double last_report = seconds_now();
    for (long step = r->steps_done + 1; step <= steps; step++) {
        if (cb->stop && cb->stop(cb->ctx)) {
            gm_status s = r->checkpoint_step == r->steps_done
                              ? GM_OK
                              : checkpoint(r, cb, err);
            return s == GM_OK ? gm_error_set(err, GM_INTERRUPTED,
                                             "interrupted at step %ld",
                                             r->steps_done)
                              : s;
        }
        double t0 = seconds_now();
        gm_status s =
            gm_model_train_step(r->model, step, next_batch, r->batcher, err);
        double t1 = seconds_now();
        r->train_seconds += t1 - t0;
        if (s != GM_OK) return s;
        r->steps_done = step;
        bool eval = step % r->e->eval_every == 0 || step == steps;
        if (eval) {
            s = evaluate(r, step, err);
            if (s != GM_OK) return s;
        }
        if (step % r->e->checkpoint_every == 0 || step == steps) {
            s = checkpoint(r, cb, err);
            if (s != GM_OK) return s;
        }
        /* after the checkpoint of the same step: one publication for both */
        if (eval && cb->published) cb->published(r, cb->ctx);
        bool due = cb->progress_interval > 0 &&
                   t1 - last_report >= cb->progress_interval;
        if (cb->progress && (eval || due)) {
            cb->progress(r, eval, cb->ctx);
            last_report = t1;
        }
    }
    return GM_OK;
}

void gm_run_free(gm_run *r) {
    gm_image_modes_free(r->image_modes);
    r->image_modes = NULL;
    gm_manifold_free(r->knn);
    gm_frechet_free(r->frechet);
    free(r->knn_features);
    r->knn = NULL;
    r->frechet = NULL;
    r->knn_features = NULL;
    gm_model_free(r->model);
    gm_batcher_free(r->batcher);
    free(r->samples);
    free(r->row_step);
    free(r->row_values);
    free(r->row_modes);
    free(r->row_samples);
    free(r->row_vectors);
    free(r->eval_out);
    gm_state_free(r->state);
    r->state = NULL;
    r->model = NULL;
    r->batcher = NULL;
    r->data = NULL;
    r->samples = NULL;
    r->row_step = NULL;
    r->row_values = NULL;
    r->row_modes = NULL;
    r->row_samples = NULL;
    r->row_vectors = NULL;
    r->eval_out = NULL;
}
