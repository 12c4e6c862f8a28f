/* Per-run series: chunked datasets unlimited in their first dimension,
 * one row per evaluation, flushed after every row. */
#include "runfile/runfile_internal.h"

#include <math.h>
#include <string.h>

#include "gm/objective.h"

#define SERIES_CHUNK 64 /* rows per chunk of step and metrics */
#define COUNTS_CHUNK 16 /* rows per chunk of mode_counts */
#define SAMPLES_CHUNK_BYTES (1 << 20)

struct gm_run_log {
    gm_runfile *owner;       /* NULL once detached */
    gm_run_log *next;        /* the owner's next open log */
    char obj[GM_H5_OBJ_MAX]; /* "/models/<m>/seed_<s>", for messages */
    hid_t group;
    hid_t step;    /* int64 [n] */
    hid_t *metric; /* [n_metrics] float64 [n] */
    char **names;  /* [n_metrics] */
    hid_t counts;  /* int32 [n,K] or -1 */
    hid_t samples; /* float32 [n,S,d] or -1 */
    hid_t vector[GM_MAX_EVAL_VECTORS]; /* float64 [n, vector_len[i]] */
    int vector_len[GM_MAX_EVAL_VECTORS];
    char vector_name[GM_MAX_EVAL_VECTORS][GM_NAME_MAX];
    int n_vectors, vector_values;
    int n_metrics, k, s, d;
    hsize_t rows;
    long last_step;
};

/* A dataset [0, inner...] that grows along its first dimension. */
static hid_t create_series(hid_t loc, const char *name, hid_t type, int rank,
                           const hsize_t *inner, const hsize_t *chunk,
                           bool compress) {
    hsize_t dims[3] = {0}, max[3] = {H5S_UNLIMITED};
    for (int i = 1; i < rank; i++)
        dims[i] = max[i] = inner[i - 1];
    hid_t space = H5Screate_simple(rank, dims, max);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t ds = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0) {
        if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
            H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, 4);
        }
        ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return ds;
}

/* Series slots: 0 step, 1..n_metrics the metrics, then mode_counts, then
 * samples (those two are -1 when the run has none), then the vectors. */
static int series_count(const gm_run_log *log) {
    return 3 + log->n_metrics + log->n_vectors;
}

/* The dataset in slot i, its rank and its dimensions after the first. */
static hid_t series_id(const gm_run_log *log, int i, int *rank,
                       hsize_t *inner) {
    *rank = 1;
    if (i == 0) return log->step;
    if (i <= log->n_metrics) return log->metric[i - 1];
    if (i == log->n_metrics + 1) {
        *rank = 2;
        inner[0] = (hsize_t)log->k;
        return log->counts;
    }
    if (i > log->n_metrics + 2) {
        int v = i - log->n_metrics - 3;
        *rank = 2;
        inner[0] = (hsize_t)log->vector_len[v];
        return log->vector[v];
    }
    *rank = 3;
    inner[0] = (hsize_t)log->s;
    inner[1] = (hsize_t)log->d;
    return log->samples;
}

static herr_t set_rows(gm_run_log *log, hsize_t rows) {
    herr_t rc = 0;
    for (int i = 0; i < series_count(log); i++) {
        int rank;
        hsize_t inner[2], dims[3] = {rows};
        hid_t ds = series_id(log, i, &rank, inner);
        if (ds < 0) continue;
        for (int j = 1; j < rank; j++)
            dims[j] = inner[j - 1];
        if (H5Dset_extent(ds, dims) < 0) rc = -1;
    }
    return rc;
}

static herr_t write_row(const gm_run_log *log, int i, hid_t memtype,
                        const void *buf) {
    int rank;
    hsize_t inner[2], start[3] = {log->rows}, count[3] = {1};
    hid_t ds = series_id(log, i, &rank, inner);
    for (int j = 1; j < rank; j++)
        count[j] = inner[j - 1];
    hid_t fspace = H5Dget_space(ds);
    hid_t mspace = H5Screate_simple(rank, count, NULL);
    herr_t rc = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >=
            0)
        rc = H5Dwrite(ds, memtype, mspace, fspace, H5P_DEFAULT, buf);
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    return rc;
}

static gm_status check_run_args(const gm_runfile *f, const char *model,
                                const char *const *names, int n_metrics, int k,
                                int s, int d, gm_error *err) {
    gm_status st = gm_h5_check_name(f->path, "model", model, err);
    if (st != GM_OK) return st;
    if (n_metrics < 0 || k < 0 || s < 0 || (s > 0 && d < 1))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: model '%s': bad run sizes (metrics %d, "
                            "modes %d, samples %d, dim %d)",
                            f->path, model, n_metrics, k, s, d);
    for (int i = 0; i < n_metrics; i++) {
        st = gm_h5_check_name(f->path, "metric", names[i], err);
        if (st != GM_OK) return st;
        bool dup = strcmp(names[i], "step") == 0;
        for (int j = 0; j < i; j++)
            dup = dup || strcmp(names[i], names[j]) == 0;
        if (dup)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: model '%s': metric name '%s' is repeated "
                                "or reserved",
                                f->path, model, names[i]);
    }
    return GM_OK;
}

/* The unit of a series that is not a metric; nothing is better. */
static bool set_unit(hid_t ds, const char *unit) {
    return gm_h5_attr_str(ds, "unit", unit) >= 0 &&
           gm_h5_attr_str(ds, "better", "neither") >= 0;
}

static gm_status create_datasets(gm_run_log *log, const char *path,
                                 uint64_t seed, gm_error *err) {
    hid_t g = log->group;
    char obj[GM_H5_OBJ_MAX];
    if (gm_h5_attr_u64(g, "seed", seed) < 0 ||
        gm_h5_attr_str(g, "status", "running") < 0 ||
        gm_h5_attr_i64(g, "steps", 0) < 0 ||
        gm_h5_attr_double(g, "train_seconds", NAN) < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                          "cannot write attributes");
    hid_t m = gm_h5_group_create(g, "metrics");
    gm_h5_join(obj, log->obj, "metrics");
    if (m < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot create group");
    const hsize_t chunk1[1] = {SERIES_CHUNK};
    log->step = create_series(m, "step", H5T_STD_I64LE, 1, NULL, chunk1, false);
    if (log->step < 0 || !set_unit(log->step, "training steps")) {
        gm_status st = gm_h5_fail(err, GM_ERR_IO, path, obj,
                                  "cannot create dataset 'step'");
        H5Gclose(m);
        return st;
    }
    for (int i = 0; i < log->n_metrics; i++) {
        log->metric[i] = create_series(m, log->names[i], H5T_IEEE_F64LE, 1,
                                       NULL, chunk1, false);
        if (log->metric[i] < 0) {
            gm_status st =
                gm_h5_fail(err, GM_ERR_IO, path, obj,
                           "cannot create dataset '%s'", log->names[i]);
            H5Gclose(m);
            return st;
        }
    }
    H5Gclose(m);
    if (log->k > 0) {
        hsize_t inner[1] = {(hsize_t)log->k},
                chunk[2] = {COUNTS_CHUNK, inner[0]};
        log->counts = create_series(g, "mode_counts", H5T_STD_I32LE, 2, inner,
                                    chunk, false);
        if (log->counts < 0 || !set_unit(log->counts, "samples"))
            return gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                              "cannot create dataset 'mode_counts'");
    }
    if (log->s > 0) {
        /* One evaluation per chunk, split so a chunk stays near 1 MiB. */
        hsize_t inner[2] = {(hsize_t)log->s, (hsize_t)log->d};
        hsize_t rows = SAMPLES_CHUNK_BYTES / (4 * inner[1]);
        if (rows < 1) rows = 1;
        if (rows > inner[0]) rows = inner[0];
        hsize_t chunk[3] = {1, rows, inner[1]};
        log->samples =
            create_series(g, "samples", H5T_IEEE_F32LE, 3, inner, chunk, true);
        if (log->samples < 0 || !set_unit(log->samples, "data units"))
            return gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                              "cannot create dataset 'samples'");
    }
    return GM_OK;
}

static void attach(gm_runfile *f, gm_run_log *log) {
    log->next = f->logs;
    f->logs = log;
}

static gm_run_log *log_alloc(gm_runfile *f, const char *model, uint64_t seed,
                             const char *const *names, int n_metrics, int k,
                             int s, int d) {
    gm_run_log *log = calloc(1, sizeof *log);
    if (!log) return NULL;
    log->owner = f;
    log->group = log->step = log->counts = log->samples = -1;
    for (int i = 0; i < GM_MAX_EVAL_VECTORS; i++)
        log->vector[i] = -1;
    log->n_metrics = n_metrics;
    log->k = k;
    log->s = s;
    log->d = s > 0 ? d : 0;
    gm_runfile_seed_path(log->obj, model, seed);
    log->metric = malloc((size_t)(n_metrics ? n_metrics : 1) * sizeof(hid_t));
    log->names = calloc((size_t)(n_metrics ? n_metrics : 1), sizeof(char *));
    bool ok = log->metric && log->names;
    for (int i = 0; log->metric && i < n_metrics; i++)
        log->metric[i] = -1;
    for (int i = 0; ok && i < n_metrics; i++)
        ok = (log->names[i] = strdup(names[i])) != NULL;
    if (!ok) {
        gm_run_log_free(log);
        return NULL;
    }
    return log;
}

/* A log for a run, its arguments checked; NULL with err set. */
static gm_run_log *new_log(gm_runfile *f, const char *model, uint64_t seed,
                           const char *const *metric_names, int n_metrics,
                           int k_modes, int n_samples, int dim,
                           gm_error *err) {
    if (check_run_args(f, model, metric_names, n_metrics, k_modes, n_samples,
                       dim, err) != GM_OK)
        return NULL;
    gm_run_log *log = log_alloc(f, model, seed, metric_names, n_metrics,
                                k_modes, n_samples, dim);
    if (!log) gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", f->path);
    return log;
}

gm_run_log *gm_runfile_begin_run(gm_runfile *f, const char *model,
                                 uint64_t seed, const char *const *metric_names,
                                 int n_metrics, int k_modes, int n_samples,
                                 int dim, gm_error *err) {
    gm_run_log *log = new_log(f, model, seed, metric_names, n_metrics, k_modes,
                              n_samples, dim, err);
    if (!log) return NULL;
    char model_obj[GM_H5_OBJ_MAX];
    snprintf(model_obj, sizeof model_obj, "/models/%s", model);
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    bool reserved = false, created = false;
    if (H5Lexists(f->file, model_obj, H5P_DEFAULT) <= 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND,
                          "%s: %s: no such model (add it before its runs)",
                          f->path, model_obj);
    else if (gm_h5_exists(f->file, log->obj))
        reserved = true;
    if (st == GM_OK && reserved) {
        log->group = H5Gopen2(f->file, log->obj, H5P_DEFAULT);
        if (log->group < 0)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, log->obj,
                            "cannot open group");
        else if (H5Lexists(log->group, "metrics", H5P_DEFAULT) > 0)
            st = gm_error_set(err, GM_ERR_STATE,
                              "%s: %s: this run already exists", f->path,
                              log->obj);
    } else if (st == GM_OK) {
        log->group = gm_h5_group_create(f->file, log->obj);
        created = log->group >= 0;
        if (!created)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, log->obj,
                            "cannot create group");
    }
    if (st == GM_OK) st = create_datasets(log, f->path, seed, err);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    if (st != GM_OK) {
        gm_run_log_detach(log);
        /* Leave no half-made run behind. */
        if (created) H5Ldelete(f->file, log->obj, H5P_DEFAULT);
        gm_run_log_free(log);
        log = NULL;
    }
    if (log) attach(f, log);
    gm_h5_quiet_end(q);
    return log;
}

gm_status gm_runfile_add_run(gm_runfile *f, const char *model, uint64_t seed,
                             gm_error *err) {
    gm_status st = gm_h5_check_name(f->path, "model", model, err);
    if (st != GM_OK) return st;
    char obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(obj, model, seed);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t g = -1;
    if (gm_h5_exists(f->file, obj))
        st = gm_error_set(err, GM_ERR_STATE, "%s: %s: this run already exists",
                          f->path, obj);
    else if ((g = gm_h5_group_create(f->file, obj)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot create group");
    else if (gm_h5_attr_u64(g, "seed", seed) < 0 ||
             gm_h5_attr_str(g, "status", "pending") < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                        "cannot write attributes");
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

/* Opens the series of a run begun earlier (same metrics and sizes). */
static gm_status open_datasets(gm_run_log *log, const char *path,
                               gm_error *err) {
    char metrics_obj[GM_H5_OBJ_MAX], obj[GM_H5_OBJ_MAX];
    gm_h5_join(metrics_obj, log->obj, "metrics");
    hid_t m = H5Gopen2(log->group, "metrics", H5P_DEFAULT);
    if (m < 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no series", path,
                            metrics_obj);
    gm_status st = GM_OK;
    if ((log->step = H5Dopen2(m, "step", H5P_DEFAULT)) < 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no series 'step'",
                          path, metrics_obj);
    for (int i = 0; st == GM_OK && i < log->n_metrics; i++)
        if ((log->metric[i] = H5Dopen2(m, log->names[i], H5P_DEFAULT)) < 0)
            st = gm_error_set(err, GM_ERR_NOT_FOUND,
                              "%s: %s: no series '%s' (the run's metrics "
                              "differ from the file's)",
                              path, metrics_obj, log->names[i]);
    H5Gclose(m);
    gm_h5_join(obj, log->obj, "mode_counts");
    if (st == GM_OK && log->k > 0 &&
        (log->counts = H5Dopen2(log->group, "mode_counts", H5P_DEFAULT)) < 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: missing", path, obj);
    gm_h5_join(obj, log->obj, "samples");
    if (st == GM_OK && log->s > 0 &&
        (log->samples = H5Dopen2(log->group, "samples", H5P_DEFAULT)) < 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: missing", path, obj);
    return st;
}

/* The step of row `row` of the step series. */
static herr_t read_step(const gm_run_log *log, hsize_t row, int64_t *out) {
    hsize_t start[1] = {row}, count[1] = {1};
    hid_t fspace = H5Dget_space(log->step);
    hid_t mspace = H5Screate_simple(1, count, NULL);
    herr_t rc = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >=
            0)
        rc = H5Dread(log->step, H5T_NATIVE_INT64, mspace, fspace, H5P_DEFAULT,
                     out);
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    return rc;
}

gm_run_log *gm_runfile_continue_run(gm_runfile *f, const char *model,
                                    uint64_t seed,
                                    const char *const *metric_names,
                                    int n_metrics, int k_modes, int n_samples,
                                    int dim, long rows, gm_error *err) {
    gm_run_log *log = new_log(f, model, seed, metric_names, n_metrics, k_modes,
                              n_samples, dim, err);
    if (!log) return NULL;
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    if (!gm_h5_exists(f->file, log->obj) ||
        (log->group = H5Gopen2(f->file, log->obj, H5P_DEFAULT)) < 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no such run",
                          f->path, log->obj);
    if (st == GM_OK) st = open_datasets(log, f->path, err);
    hsize_t have = 0;
    hid_t space = st == GM_OK ? H5Dget_space(log->step) : -1;
    if (space >= 0) {
        H5Sget_simple_extent_dims(space, &have, NULL);
        H5Sclose(space);
    }
    if (st == GM_OK && (rows < 0 || (hsize_t)rows > have))
        st = gm_error_set(err, GM_ERR_INVALID,
                          "%s: %s: the checkpoint is at row %ld, the series "
                          "have %llu",
                          f->path, log->obj, rows, (unsigned long long)have);
    int64_t last = 0;
    if (st == GM_OK && rows > 0 && read_step(log, (hsize_t)rows - 1, &last) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, log->obj,
                        "cannot read the step series");
    /* Rows after the checkpoint are evaluated again as the run goes on. */
    if (st == GM_OK && set_rows(log, (hsize_t)rows) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, log->obj,
                        "cannot cut the series back to %ld rows", rows);
    if (st == GM_OK && (gm_h5_attr_str(log->group, "status", "running") < 0 ||
                        gm_h5_attr_i64(log->group, "steps", last) < 0))
        st = gm_h5_fail(err, GM_ERR_IO, f->path, log->obj,
                        "cannot write attributes");
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    if (st != GM_OK) {
        gm_run_log_detach(log);
        gm_run_log_free(log);
        gm_h5_quiet_end(q);
        return NULL;
    }
    log->rows = (hsize_t)rows;
    log->last_step = (long)last;
    attach(f, log);
    gm_h5_quiet_end(q);
    return log;
}

/* A log takes rows and its final attributes only while its file is open. */
static gm_status require_open(const gm_run_log *log, gm_error *err) {
    if (log->owner) return GM_OK;
    return gm_error_set(err, GM_ERR_STATE,
                        "%s: the run file was closed before this run's log",
                        log->obj);
}

static gm_status check_append(const gm_run_log *log, long step,
                              const double *metrics, const int *counts,
                              const float *samples, const double *vectors,
                              gm_error *err) {
    gm_status ready = require_open(log, err);
    if (ready != GM_OK) return ready;
    const char *path = log->owner->path;
    if (step < 0)
        return gm_error_set(err, GM_ERR_INVALID, "%s: %s: negative step %ld",
                            path, log->obj, step);
    if (log->rows > 0 && step <= log->last_step)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: step %ld does not follow step %ld", path,
                            log->obj, step, log->last_step);
    if (log->n_metrics > 0 && !metrics)
        return gm_error_set(err, GM_ERR_INVALID, "%s: %s: no metric values",
                            path, log->obj);
    if ((log->k > 0) != (counts != NULL))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: mode counts %s (the run has %d modes)",
                            path, log->obj, counts ? "given" : "missing",
                            log->k);
    if ((log->s > 0) != (samples != NULL))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: samples %s (the run keeps %d samples)",
                            path, log->obj, samples ? "given" : "missing",
                            log->s);
    if ((log->n_vectors > 0) != (vectors != NULL))
        return gm_error_set(
            err, GM_ERR_INVALID, "%s: %s: vectors %s (the run has %d vectors)",
            path, log->obj, vectors ? "given" : "missing", log->n_vectors);
    return GM_OK;
}

static gm_status write_rows(gm_run_log *log, long step, const double *metrics,
                            const int *counts, const float *samples,
                            const double *vectors, gm_error *err) {
    const char *path = log->owner->path;
    char obj[GM_H5_OBJ_MAX], metrics_obj[GM_H5_OBJ_MAX];
    int64_t s64 = step;
    gm_h5_join(metrics_obj, log->obj, "metrics");
    gm_h5_join(obj, metrics_obj, "step");
    if (write_row(log, 0, H5T_NATIVE_INT64, &s64) < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write row %llu",
                          (unsigned long long)log->rows);
    for (int i = 0; i < log->n_metrics; i++) {
        if (write_row(log, 1 + i, H5T_NATIVE_DOUBLE, &metrics[i]) >= 0)
            continue;
        gm_h5_join(obj, metrics_obj, log->names[i]);
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write row %llu",
                          (unsigned long long)log->rows);
    }
    if (counts &&
        write_row(log, log->n_metrics + 1, H5T_NATIVE_INT, counts) < 0) {
        gm_h5_join(obj, log->obj, "mode_counts");
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write row %llu",
                          (unsigned long long)log->rows);
    }
    if (samples &&
        write_row(log, log->n_metrics + 2, H5T_NATIVE_FLOAT, samples) < 0) {
        gm_h5_join(obj, log->obj, "samples");
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write row %llu",
                          (unsigned long long)log->rows);
    }
    for (int v = 0, at = 0; v < log->n_vectors; at += log->vector_len[v++]) {
        if (write_row(log, log->n_metrics + 3 + v, H5T_NATIVE_DOUBLE,
                      vectors + at) >= 0)
            continue;
        char group[GM_H5_OBJ_MAX];
        gm_h5_join(group, log->obj, "vectors");
        gm_h5_join(obj, group, log->vector_name[v]);
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write row %llu",
                          (unsigned long long)log->rows);
    }
    if (gm_h5_attr_i64(log->group, "steps", step) < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                          "cannot write attribute 'steps'");
    return GM_OK;
}

gm_status gm_run_log_append(gm_run_log *log, long step, const double *metrics,
                            const int *mode_counts, const float *samples,
                            const double *vectors, gm_error *err) {
    gm_status st =
        check_append(log, step, metrics, mode_counts, samples, vectors, err);
    if (st != GM_OK) return st;
    const char *path = log->owner->path;
    gm_h5_quiet q = gm_h5_quiet_begin();
    if (set_rows(log, log->rows + 1) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                        "cannot extend the series to %llu rows",
                        (unsigned long long)log->rows + 1);
    else
        st = write_rows(log, step, metrics, mode_counts, samples, vectors, err);
    if (st == GM_OK) st = gm_runfile_changed(log->owner, err);
    if (st == GM_OK) {
        log->rows++;
        log->last_step = step;
    } else {
        set_rows(log, log->rows); /* keep every series the same length */
    }
    gm_h5_quiet_end(q);
    return st;
}

long gm_run_log_rows(const gm_run_log *log) { return (long)log->rows; }

/* Opens vectors/<name> [rows, len] of a run begun earlier, or creates it
 * for a run with no rows yet. */
static hid_t open_vector(hid_t group, const char *name, int len, bool create) {
    if (!create) {
        hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
        hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
        hsize_t dims[2] = {0};
        bool fits = space >= 0 && H5Sget_simple_extent_ndims(space) == 2 &&
                    H5Sget_simple_extent_dims(space, dims, NULL) == 2 &&
                    dims[1] == (hsize_t)len;
        if (space >= 0) H5Sclose(space);
        if (fits || ds < 0) return ds;
        H5Dclose(ds);
        return -1;
    }
    hsize_t inner[1] = {(hsize_t)len}, chunk[2] = {SERIES_CHUNK, inner[0]};
    return create_series(group, name, H5T_IEEE_F64LE, 2, inner, chunk, false);
}

gm_status gm_run_log_add_vectors(gm_run_log *log, const char *const *names,
                                 const int *lens, int n, gm_error *err) {
    gm_status st = require_open(log, err);
    if (st != GM_OK) return st;
    const char *path = log->owner->path;
    if (log->n_vectors > 0 || n < 0 || n > GM_MAX_EVAL_VECTORS)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: bad vector series (%d, at most %d, once)",
                            path, log->obj, n, GM_MAX_EVAL_VECTORS);
    for (int i = 0; st == GM_OK && i < n; i++) {
        st = gm_h5_check_name(path, "vector", names[i], err);
        if (st == GM_OK && (lens[i] < 1 || strlen(names[i]) >= GM_NAME_MAX))
            st = gm_error_set(err, GM_ERR_INVALID,
                              "%s: %s: vector '%s' of length %d", path,
                              log->obj, names[i], lens[i]);
    }
    if (st != GM_OK || n == 0) return st;
    char obj[GM_H5_OBJ_MAX];
    gm_h5_join(obj, log->obj, "vectors");
    gm_h5_quiet q = gm_h5_quiet_begin();
    bool exists = H5Lexists(log->group, "vectors", H5P_DEFAULT) > 0;
    hid_t g = exists ? H5Gopen2(log->group, "vectors", H5P_DEFAULT)
                     : gm_h5_group_create(log->group, "vectors");
    if (g < 0) st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open group");
    for (int i = 0; st == GM_OK && i < n; i++) {
        bool create = H5Lexists(g, names[i], H5P_DEFAULT) <= 0;
        if (create && log->rows > 0) {
            st = gm_error_set(err, GM_ERR_NOT_FOUND,
                              "%s: %s: no series '%s' (the run's vectors "
                              "differ from the file's)",
                              path, obj, names[i]);
            break;
        }
        log->vector[i] = open_vector(g, names[i], lens[i], create);
        if (log->vector[i] < 0) {
            st = gm_h5_fail(err, GM_ERR_IO, path, obj,
                            "cannot %s vector series '%s' of length %d",
                            create ? "create" : "open", names[i], lens[i]);
            break;
        }
        log->vector_len[i] = lens[i];
        snprintf(log->vector_name[i], GM_NAME_MAX, "%s", names[i]);
        log->n_vectors = i + 1;
    }
    if (g >= 0) H5Gclose(g);
    /* Rows after a checkpoint are evaluated again, as for the scalars. */
    if (st == GM_OK && set_rows(log, log->rows) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, obj,
                        "cannot cut the vectors back to %llu rows",
                        (unsigned long long)log->rows);
    if (st == GM_OK) st = gm_runfile_changed(log->owner, err);
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_run_log_describe(gm_run_log *log, const char *const *units,
                              const char *const *better, gm_error *err) {
    gm_status st = require_open(log, err);
    if (st != GM_OK) return st;
    gm_h5_quiet q = gm_h5_quiet_begin();
    for (int i = 0; st == GM_OK && i < log->n_metrics + log->n_vectors; i++) {
        bool vector = i >= log->n_metrics;
        hid_t ds = vector ? log->vector[i - log->n_metrics] : log->metric[i];
        const char *name = vector ? log->vector_name[i - log->n_metrics]
                                  : log->names[i];
        if (units[i] && (gm_h5_attr_str(ds, "unit", units[i]) < 0 ||
                         gm_h5_attr_str(ds, "better", better[i]) < 0))
            st = gm_h5_fail(err, GM_ERR_IO, log->owner->path, log->obj,
                            "cannot describe series '%s'", name);
    }
    if (st == GM_OK) st = gm_runfile_changed(log->owner, err);
    gm_h5_quiet_end(q);
    return st;
}

/* Attrs steps, train_seconds and status: how the run ended. */
static gm_status end_run(gm_run_log *log, long steps, double train_seconds,
                         const char *status, gm_error *err) {
    gm_status ready = require_open(log, err);
    if (ready != GM_OK) return ready;
    const char *path = log->owner->path;
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    if (gm_h5_attr_i64(log->group, "steps", steps) < 0 ||
        gm_h5_attr_double(log->group, "train_seconds", train_seconds) < 0 ||
        gm_h5_attr_str(log->group, "status", status) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, log->obj,
                        "cannot write attributes steps, train_seconds and "
                        "status");
    else
        st = gm_runfile_changed(log->owner, err);
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_run_log_finish(gm_run_log *log, long steps, double train_seconds,
                            gm_error *err) {
    return end_run(log, steps, train_seconds, "complete", err);
}

gm_status gm_run_log_fail(gm_run_log *log, long steps, double train_seconds,
                          const char *why, gm_error *err) {
    char status[GM_ERROR_MAX + 16];
    snprintf(status, sizeof status, "failed: %s", why && *why ? why : "?");
    return end_run(log, steps, train_seconds, status, err);
}

char *gm_runfile_run_status(gm_runfile *f, const char *model, uint64_t seed) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_error err = {0};
    hid_t g;
    char *status = NULL;
    if (gm_runfile_open_seed(f->file, f->path, model, seed, &g, &err) ==
        GM_OK) {
        status = gm_h5_attr_read_str(g, "status");
        H5Gclose(g);
    }
    gm_h5_quiet_end(q);
    return status;
}

void gm_run_log_detach(gm_run_log *log) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    for (int i = 0; i < series_count(log); i++) {
        int rank;
        hsize_t inner[2];
        hid_t ds = series_id(log, i, &rank, inner);
        if (ds >= 0) H5Dclose(ds);
    }
    if (log->group >= 0) H5Gclose(log->group);
    gm_h5_quiet_end(q);
    log->group = log->step = log->counts = log->samples = -1;
    for (int i = 0; i < log->n_metrics; i++)
        log->metric[i] = -1;
    for (int i = 0; i < log->n_vectors; i++)
        log->vector[i] = -1;
    for (gm_run_log **at = log->owner ? &log->owner->logs : NULL; at && *at;
         at = &(*at)->next)
        if (*at == log) {
            *at = log->next;
            break;
        }
    log->owner = NULL;
}

void gm_run_log_free(gm_run_log *log) {
    if (!log) return;
    if (log->metric) gm_run_log_detach(log);
    for (int i = 0; log->names && i < log->n_metrics; i++)
        free(log->names[i]);
    free(log->names);
    free(log->metric);
    free(log);
}
