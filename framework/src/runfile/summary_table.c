/* Writing and reading the /summary compound table (see summary.c). */
#include "runfile/runfile_internal.h"

#include <math.h>
#include <stdalign.h>
#include <string.h>

#define SUMMARY_DOC                                                            \
    "one row per model: <metric>_mean and <metric>_se are the mean and "       \
    "standard error (sample std / sqrt(n_seeds), NaN for one seed) over "      \
    "seeds of each seed's final value; NaN where the model has no such "       \
    "metric. n_failed seeds whose run failed are left out"

/* Row layout in memory: model, objective, n_seeds, n_failed, the swept
 * values (strings), then (mean, se) pairs. */
typedef struct row_layout {
    size_t model, objective, n_seeds, n_failed, sweep, values, size;
} row_layout;

static row_layout layout_of(int n_sweep, int n_metrics) {
    row_layout l;
    l.model = 0;
    l.objective = sizeof(char *);
    l.n_seeds = 2 * sizeof(char *);
    l.n_failed = l.n_seeds + sizeof(int);
    size_t a = alignof(char *);
    l.sweep = (l.n_failed + sizeof(int) + a - 1) / a * a;
    a = alignof(double);
    l.values = (l.sweep + sizeof(char *) * (size_t)n_sweep + a - 1) / a * a;
    l.size = l.values + 2 * sizeof(double) * (size_t)n_metrics;
    return l;
}

/* The memory compound type of a row; NULL-safe on failure (returns -1). */
static hid_t row_type(const gm_summary *s, row_layout l) {
    hid_t str = gm_h5_vlen_str_type();
    hid_t t = str >= 0 ? H5Tcreate(H5T_COMPOUND, l.size) : -1;
    bool ok = t >= 0 && H5Tinsert(t, "model", l.model, str) >= 0 &&
              H5Tinsert(t, "objective", l.objective, str) >= 0 &&
              H5Tinsert(t, "n_seeds", l.n_seeds, H5T_NATIVE_INT) >= 0 &&
              H5Tinsert(t, "n_failed", l.n_failed, H5T_NATIVE_INT) >= 0;
    for (int i = 0; ok && i < s->n_sweep; i++) {
        char name[GM_H5_NAME_MAX + 8];
        snprintf(name, sizeof name, "sweep.%s", s->sweep_keys[i]);
        ok = H5Tinsert(t, name, l.sweep + sizeof(char *) * (size_t)i, str) >= 0;
    }
    for (int i = 0; ok && i < s->n_metrics; i++) {
        char name[GM_H5_NAME_MAX + 8];
        size_t off = l.values + 2 * sizeof(double) * (size_t)i;
        snprintf(name, sizeof name, "%s_mean", s->metrics[i]);
        ok = H5Tinsert(t, name, off, H5T_NATIVE_DOUBLE) >= 0;
        snprintf(name, sizeof name, "%s_se", s->metrics[i]);
        ok = ok &&
             H5Tinsert(t, name, off + sizeof(double), H5T_NATIVE_DOUBLE) >= 0;
    }
    if (str >= 0) H5Tclose(str);
    if (!ok && t >= 0) H5Tclose(t);
    return ok ? t : -1;
}

static void fill_rows(const gm_summary *s, row_layout l, char *rows) {
    for (int m = 0; m < s->n_models; m++) {
        char *r = rows + (size_t)m * l.size;
        memcpy(r + l.model, &s->models[m], sizeof(char *));
        memcpy(r + l.objective, &s->objectives[m], sizeof(char *));
        memcpy(r + l.n_seeds, &s->n_seeds[m], sizeof(int));
        memcpy(r + l.n_failed, &s->n_failed[m], sizeof(int));
        memcpy(r + l.sweep, &s->sweep_values[(size_t)m * (size_t)s->n_sweep],
               sizeof(char *) * (size_t)s->n_sweep);
        for (int k = 0; k < s->n_metrics; k++) {
            size_t at = (size_t)m * (size_t)s->n_metrics + (size_t)k;
            double pair[2] = {s->mean[at], s->se[at]};
            memcpy(r + l.values + sizeof pair * (size_t)k, pair, sizeof pair);
        }
    }
}

static gm_status write_table(hid_t file, const char *path, const gm_summary *s,
                             gm_error *err) {
    row_layout l = layout_of(s->n_sweep, s->n_metrics);
    char *rows = calloc((size_t)s->n_models + 1, l.size);
    if (!rows)
        return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    fill_rows(s, l, rows);
    hsize_t dims[1] = {(hsize_t)s->n_models};
    hid_t mt = row_type(s, l), ft = -1, space = -1, ds = -1;
    gm_status st = GM_OK;
    if (mt < 0 || (ft = H5Tcopy(mt)) < 0 || H5Tpack(ft) < 0 ||
        (space = H5Screate_simple(1, dims, NULL)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                        "cannot build the table type");
    else if (H5Lexists(file, "summary", H5P_DEFAULT) > 0 &&
             H5Ldelete(file, "summary", H5P_DEFAULT) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                        "cannot replace the table");
    else if ((ds = H5Dcreate2(file, "summary", ft, space, H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary", "cannot create");
    else if (s->n_models > 0 &&
             H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary", "cannot write");
    /* The model names also as an attribute: h5py (3.7) gives the strings
     * inside a compound as bytes, an attribute's as str. */
    else if (gm_h5_attr_strs(ds, "models", s->models, s->n_models) < 0 ||
             gm_h5_attr_strs(ds, "metrics", s->metrics, s->n_metrics) < 0 ||
             gm_h5_attr_strs(ds, "sweep_keys", s->sweep_keys, s->n_sweep) < 0 ||
             gm_h5_attr_str(ds, "description", SUMMARY_DOC) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                        "cannot write attributes");
    if (ds >= 0) H5Dclose(ds);
    if (space >= 0) H5Sclose(space);
    if (ft >= 0) H5Tclose(ft);
    if (mt >= 0) H5Tclose(mt);
    free(rows);
    return st;
}

gm_status gm_runfile_write_summary(gm_runfile *f, gm_error *err) {
    gm_summary s;
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = gm_runfile_compute_summary(f->file, f->path, &s, err);
    if (st == GM_OK) {
        st = write_table(f->file, f->path, &s, err);
        gm_summary_clear(&s);
    }
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

/* Reads one member of every row into buf (elements of memtype). */
static herr_t read_column(hid_t ds, const char *member, hid_t memtype,
                          void *buf) {
    hid_t t = H5Tcreate(H5T_COMPOUND, H5Tget_size(memtype));
    herr_t rc = -1;
    if (t >= 0 && H5Tinsert(t, member, 0, memtype) >= 0)
        rc = H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static herr_t read_str_column(hid_t ds, const char *member, char **out, int n) {
    hid_t str = gm_h5_vlen_str_type();
    char **raw = calloc((size_t)n + 1, sizeof *raw);
    herr_t rc = str >= 0 && raw ? read_column(ds, member, str, raw) : -1;
    for (int i = 0; i < n && raw; i++) {
        if (rc >= 0 && !(out[i] = strdup(raw[i] ? raw[i] : ""))) rc = -1;
        H5free_memory(raw[i]);
    }
    free(raw);
    if (str >= 0) H5Tclose(str);
    return rc;
}

static gm_status read_values(hid_t ds, const char *path, gm_summary *s,
                             gm_error *err) {
    int n = s->n_models;
    double *col = malloc(((size_t)n + 1) * sizeof *col);
    if (!col) return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    gm_status st = GM_OK;
    for (int k = 0; st == GM_OK && k < 2 * s->n_metrics; k++) {
        char name[GM_H5_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s_%s", s->metrics[k / 2],
                 k % 2 ? "se" : "mean");
        if (n > 0 && read_column(ds, name, H5T_NATIVE_DOUBLE, col) < 0) {
            st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                            "cannot read column '%s'", name);
            break;
        }
        double *dst = k % 2 ? s->se : s->mean;
        for (int m = 0; m < n; m++)
            dst[(size_t)m * (size_t)s->n_metrics + (size_t)(k / 2)] = col[m];
    }
    free(col);
    return st;
}

/* The sweep.<key> columns of the keys in attr sweep_keys (none in a file
 * written before sweeps, or without one). */
static gm_status read_sweep(hid_t ds, const char *path, gm_summary *s,
                            gm_error *err) {
    int n = H5Aexists(ds, "sweep_keys") > 0
                ? gm_h5_attr_read_strs(ds, "sweep_keys", &s->sweep_keys)
                : 0;
    if (n < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                          "cannot read attribute 'sweep_keys'");
    s->n_sweep = n;
    size_t cells = (size_t)s->n_models * (size_t)n;
    s->sweep_values = calloc(cells + 1, sizeof *s->sweep_values);
    char **col = calloc((size_t)s->n_models + 1, sizeof *col);
    gm_status st =
        s->sweep_values && col
            ? GM_OK
            : gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    for (int k = 0; st == GM_OK && k < n && s->n_models > 0; k++) {
        char name[GM_H5_NAME_MAX + 8];
        snprintf(name, sizeof name, "sweep.%s", s->sweep_keys[k]);
        if (read_str_column(ds, name, col, s->n_models) < 0)
            st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                            "cannot read column '%s'", name);
        for (int m = 0; m < s->n_models; m++) {
            s->sweep_values[(size_t)m * (size_t)n + (size_t)k] = col[m];
            col[m] = NULL;
        }
    }
    free(col);
    return st;
}

/* Whether the table has the column `member` (n_failed: not before gm
 * recorded failed runs). */
static bool has_member(hid_t ds, const char *member) {
    hid_t t = H5Dget_type(ds);
    bool has = t >= 0 && H5Tget_member_index(t, member) >= 0;
    if (t >= 0) H5Tclose(t);
    return has;
}

static gm_status read_table(hid_t file, const char *path, gm_summary *s,
                            gm_error *err) {
    hid_t ds = H5Dopen2(file, "summary", H5P_DEFAULT);
    if (ds < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, "/summary", "cannot open");
    hid_t space = H5Dget_space(ds);
    hssize_t rows = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0) H5Sclose(space);
    gm_status st = GM_OK;
    int nm = gm_h5_attr_read_strs(ds, "metrics", &s->metrics);
    if (rows < 0 || nm < 0) {
        st = gm_error_set(err, GM_ERR_IO,
                          "%s: /summary: not a gm summary table (no rows or "
                          "no 'metrics' attribute)",
                          path);
    } else {
        s->n_metrics = nm;
        s->n_models = (int)rows;
        size_t cells = (size_t)rows * (size_t)nm + 1;
        s->models = calloc((size_t)rows + 1, sizeof *s->models);
        s->objectives = calloc((size_t)rows + 1, sizeof *s->objectives);
        s->n_seeds = calloc((size_t)rows + 1, sizeof *s->n_seeds);
        s->n_failed = calloc((size_t)rows + 1, sizeof *s->n_failed);
        s->mean = malloc(cells * sizeof *s->mean);
        s->se = malloc(cells * sizeof *s->se);
        if (!s->models || !s->objectives || !s->n_seeds || !s->n_failed ||
            !s->mean || !s->se)
            st = gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == GM_OK && rows > 0 &&
        (read_str_column(ds, "model", s->models, (int)rows) < 0 ||
         read_str_column(ds, "objective", s->objectives, (int)rows) < 0 ||
         read_column(ds, "n_seeds", H5T_NATIVE_INT, s->n_seeds) < 0 ||
         (has_member(ds, "n_failed") &&
          read_column(ds, "n_failed", H5T_NATIVE_INT, s->n_failed) < 0)))
        st = gm_h5_fail(err, GM_ERR_IO, path, "/summary",
                        "cannot read the model columns");
    if (st == GM_OK) st = read_sweep(ds, path, s, err);
    if (st == GM_OK) st = read_values(ds, path, s, err);
    /* An older gm wrote 0 for one seed's undefined standard error. */
    for (int m = 0; st == GM_OK && m < s->n_models; m++)
        if (s->n_seeds[m] < 2)
            for (int j = 0; j < s->n_metrics; j++)
                s->se[(size_t)m * (size_t)s->n_metrics + (size_t)j] = NAN;
    H5Dclose(ds);
    return st;
}

gm_status gm_runfile_read_summary(const char *path, gm_summary *out,
                                  gm_error *err) {
    memset(out, 0, sizeof *out);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK && H5Lexists(file, "summary", H5P_DEFAULT) > 0) {
        out->experiment = gm_h5_attr_read_str(file, "experiment");
        out->status = gm_h5_attr_read_str(file, "status");
        st = read_table(file, path, out, err);
    } else if (st == GM_OK) {
        st = gm_runfile_compute_summary(file, path, out, err);
        out->from_series = st == GM_OK;
    }
    if (st == GM_OK) st = gm_runfile_read_units(file, path, out, err);
    if (st != GM_OK) gm_summary_clear(out);
    if (file >= 0) H5Fclose(file);
    gm_h5_quiet_end(q);
    return st;
}
