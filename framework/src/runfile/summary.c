/* /summary: per model, the mean and standard error over seeds of each
 * metric's final value, as one compound table with a row per model:
 *
 *   model (str), objective (str), n_seeds (int32), n_failed (int32),
 *   (with a real-data floor, /dataset/floor, a last row "data", objective
 *   "real data", of its headline metrics)
 *   sweep.<key> (str) for each key a model sweeps,
 *   <metric>_mean (float64), <metric>_se (float64) for each metric
 *
 * and attributes `metrics` and `sweep_keys` listing the metric names and
 * the swept keys in column order. */
#include "runfile/runfile_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* One seed's final value of one metric. */
typedef struct final_value {
    int model, metric;
    double value;
} final_value;

/* One model's value of one swept key, as text. */
typedef struct sweep_cell {
    int model, key;
    char *text;
} sweep_cell;

typedef struct collect {
    const char *path;
    gm_summary *out;
    final_value *finals;
    int n_finals, cap_finals;
    int cap_metrics;
    sweep_cell *cells;
    int n_cells, cap_cells;
    int cap_sweep_keys;
} collect;

static gm_status nomem(const collect *c, gm_error *err) {
    return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", c->path);
}

static int metric_index(collect *c, const char *name) {
    gm_summary *s = c->out;
    for (int i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i], name) == 0) return i;
    if (s->n_metrics == c->cap_metrics) {
        int cap = c->cap_metrics ? 2 * c->cap_metrics : 16;
        char **m = realloc(s->metrics, (size_t)cap * sizeof *m);
        if (!m) return -1;
        s->metrics = m;
        c->cap_metrics = cap;
    }
    if (!(s->metrics[s->n_metrics] = strdup(name))) return -1;
    return s->n_metrics++;
}

static bool add_final(collect *c, int model, int metric, double value) {
    if (c->n_finals == c->cap_finals) {
        int cap = c->cap_finals ? 2 * c->cap_finals : 64;
        final_value *f = realloc(c->finals, (size_t)cap * sizeof *f);
        if (!f) return false;
        c->finals = f;
        c->cap_finals = cap;
    }
    c->finals[c->n_finals++] = (final_value){model, metric, value};
    return true;
}

static int sweep_key_index(collect *c, const char *key) {
    gm_summary *s = c->out;
    for (int i = 0; i < s->n_sweep; i++)
        if (strcmp(s->sweep_keys[i], key) == 0) return i;
    if (s->n_sweep == c->cap_sweep_keys) {
        int cap = c->cap_sweep_keys ? 2 * c->cap_sweep_keys : 8;
        char **k = realloc(s->sweep_keys, (size_t)cap * sizeof *k);
        if (!k) return -1;
        s->sweep_keys = k;
        c->cap_sweep_keys = cap;
    }
    if (!(s->sweep_keys[s->n_sweep] = strdup(key))) return -1;
    return s->n_sweep++;
}

/* An attribute's value as text: a string as it is, a number printed. */
static char *attr_text(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (cls == H5T_STRING) return gm_h5_attr_read_str(obj, name);
    char text[64];
    int64_t i;
    double d;
    if (cls == H5T_INTEGER && gm_h5_attr_read_i64(obj, name, &i))
        snprintf(text, sizeof text, "%" PRId64, i);
    else if (cls == H5T_FLOAT && gm_h5_attr_read_double(obj, name, &d))
        snprintf(text, sizeof text, "%.15g", d);
    else
        return NULL;
    return strdup(text);
}

/* The model's swept keys and values (attrs sweep_keys, sweep.<key>). */
static gm_status collect_sweep(collect *c, hid_t g, int model, gm_error *err) {
    char **keys;
    int n = gm_h5_attr_read_strs(g, "sweep_keys", &keys);
    gm_status st = GM_OK;
    for (int i = 0; st == GM_OK && i < n; i++) {
        char name[GM_H5_NAME_MAX + 8];
        snprintf(name, sizeof name, "sweep.%s", keys[i]);
        char *text = attr_text(g, name);
        if (!text) text = strdup("");
        int k = text ? sweep_key_index(c, keys[i]) : -1;
        if (k >= 0 && c->n_cells == c->cap_cells) {
            int cap = c->cap_cells ? 2 * c->cap_cells : 16;
            sweep_cell *cells = realloc(c->cells, (size_t)cap * sizeof *cells);
            if (cells) {
                c->cells = cells;
                c->cap_cells = cap;
            } else {
                k = -1;
            }
        }
        if (k < 0) {
            free(text);
            st = nomem(c, err);
        } else {
            c->cells[c->n_cells++] = (sweep_cell){model, k, text};
        }
    }
    gm_h5_names_free(keys, n);
    return st;
}

/* The [n_models, n_sweep] table of the collected cells. */
static gm_status sweep_table(collect *c, gm_error *err) {
    gm_summary *s = c->out;
    size_t cells = (size_t)s->n_models * (size_t)s->n_sweep;
    s->sweep_values = calloc(cells + 1, sizeof *s->sweep_values);
    if (!s->sweep_values) return nomem(c, err);
    for (int i = 0; i < c->n_cells; i++) {
        size_t at = (size_t)c->cells[i].model * (size_t)s->n_sweep +
                    (size_t)c->cells[i].key;
        free(s->sweep_values[at]);
        s->sweep_values[at] = c->cells[i].text;
        c->cells[i].text = NULL;
    }
    for (size_t i = 0; i < cells; i++)
        if (!s->sweep_values[i] && !(s->sweep_values[i] = strdup("")))
            return nomem(c, err);
    return GM_OK;
}

/* Length of a 1-D dataset and its last value (as double). */
static bool last_value(hid_t loc, const char *name, hsize_t *len, double *v) {
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) return false;
    hid_t space = H5Dget_space(ds);
    bool ok = space >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
              H5Sget_simple_extent_dims(space, len, NULL) == 1;
    if (ok && *len > 0) {
        hsize_t start[1] = {*len - 1}, one[1] = {1};
        hid_t mspace = H5Screate_simple(1, one, NULL);
        ok = mspace >= 0 &&
             H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, one,
                                 NULL) >= 0 &&
             H5Dread(ds, H5T_NATIVE_DOUBLE, mspace, space, H5P_DEFAULT, v) >= 0;
        if (mspace >= 0) H5Sclose(mspace);
    }
    if (space >= 0) H5Sclose(space);
    H5Dclose(ds);
    return ok;
}

/* Adds one seed's final values; *counted tells whether it had a row. */
static gm_status collect_seed(collect *c, hid_t seed, const char *obj,
                              int model, bool *counted, gm_error *err) {
    *counted = false;
    if (H5Lexists(seed, "metrics", H5P_DEFAULT) <= 0) return GM_OK;
    hid_t m = H5Gopen2(seed, "metrics", H5P_DEFAULT);
    hsize_t len = 0;
    double v;
    if (m < 0 || !last_value(m, "step", &len, &v) || len == 0) {
        if (m >= 0) H5Gclose(m);
        return GM_OK; /* no evaluation yet */
    }
    char **names;
    int n = gm_h5_list(m, &names);
    gm_status st = GM_OK;
    if (n < 0)
        st = gm_h5_fail(err, GM_ERR_IO, c->path, obj, "cannot list metrics");
    for (int i = 0; st == GM_OK && i < n; i++) {
        if (strcmp(names[i], "step") == 0) continue;
        if (!last_value(m, names[i], &len, &v) || len == 0) continue;
        int k = metric_index(c, names[i]);
        if (k < 0 || !add_final(c, model, k, v)) st = nomem(c, err);
    }
    gm_h5_names_free(names, n);
    H5Gclose(m);
    *counted = st == GM_OK;
    return st;
}

static gm_status collect_model(collect *c, hid_t models, int model,
                               gm_error *err) {
    gm_summary *s = c->out;
    char obj[GM_H5_OBJ_MAX];
    snprintf(obj, sizeof obj, "/models/%s", s->models[model]);
    hid_t g = H5Gopen2(models, s->models[model], H5P_DEFAULT);
    if (g < 0) return gm_h5_fail(err, GM_ERR_IO, c->path, obj, "cannot open");
    char *objective = gm_h5_attr_read_str(g, "objective");
    s->objectives[model] = objective ? objective : strdup("");
    gm_status st =
        s->objectives[model] ? collect_sweep(c, g, model, err) : nomem(c, err);
    char **names;
    int n = gm_h5_list(g, &names);
    if (st == GM_OK && n < 0)
        st = gm_h5_fail(err, GM_ERR_IO, c->path, obj, "cannot list seeds");
    for (int i = 0; st == GM_OK && i < n; i++) {
        if (strncmp(names[i], "seed_", 5) != 0 ||
            gm_h5_kind(g, names[i]) != H5I_GROUP)
            continue;
        char seed_obj[GM_H5_OBJ_MAX];
        gm_h5_join(seed_obj, obj, names[i]);
        hid_t sg = H5Gopen2(g, names[i], H5P_DEFAULT);
        if (sg < 0) {
            st = gm_h5_fail(err, GM_ERR_IO, c->path, seed_obj, "cannot open");
            break;
        }
        /* a failed run's last values are not a result: counted apart */
        char *status = gm_h5_attr_read_str(sg, "status");
        bool failed = status && strncmp(status, "failed: ", 8) == 0;
        free(status);
        bool counted = false;
        if (!failed) st = collect_seed(c, sg, seed_obj, model, &counted, err);
        s->n_seeds[model] += counted;
        s->n_failed[model] += failed;
        H5Gclose(sg);
    }
    gm_h5_names_free(names, n);
    H5Gclose(g);
    return st;
}

/* The real-data floor's headline metrics (/dataset/floor) as one more
 * row, model "data", objective "real data", one "seed". The caller left
 * room for the row in objectives, n_seeds and n_failed. */
static gm_status collect_floor(collect *c, hid_t file, gm_error *err) {
    gm_summary *s = c->out;
    char **names;
    double *values;
    int n = gm_runfile_read_floor(file, &names, &values);
    if (n < 0)
        return gm_h5_fail(err, GM_ERR_IO, c->path, "/dataset/floor",
                          "cannot read");
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= gm_metric_is_sample_headline(names[i]);
    gm_status st = GM_OK;
    int row = s->n_models;
    char **models =
        any ? realloc(s->models, (size_t)(row + 1) * sizeof *models) : NULL;
    if (any && models) {
        s->models = models;
        s->models[row] = strdup("data");
        s->objectives[row] = strdup("real data");
        s->n_seeds[row] = 1;
        s->n_models++;
        if (!s->models[row] || !s->objectives[row]) st = nomem(c, err);
    } else if (any) {
        st = nomem(c, err);
    }
    for (int i = 0; st == GM_OK && any && i < n; i++) {
        if (!gm_metric_is_sample_headline(names[i])) continue;
        int k = metric_index(c, names[i]);
        if (k < 0 || !add_final(c, row, k, values[i])) st = nomem(c, err);
    }
    gm_h5_names_free(names, n);
    free(values);
    return st;
}

/* Mean and standard error (sample std / sqrt(n); NaN for n = 1, where
 * it is undefined). */
static void reduce(collect *c) {
    gm_summary *s = c->out;
    for (int mo = 0; mo < s->n_models; mo++) {
        for (int me = 0; me < s->n_metrics; me++) {
            double sum = 0.0, ss = 0.0;
            int n = 0;
            for (int i = 0; i < c->n_finals; i++)
                if (c->finals[i].model == mo && c->finals[i].metric == me) {
                    sum += c->finals[i].value;
                    n++;
                }
            double mean = n ? sum / n : NAN;
            for (int i = 0; i < c->n_finals; i++)
                if (c->finals[i].model == mo && c->finals[i].metric == me)
                    ss += (c->finals[i].value - mean) *
                          (c->finals[i].value - mean);
            size_t at = (size_t)mo * (size_t)s->n_metrics + (size_t)me;
            s->mean[at] = mean;
            s->se[at] = n < 2 ? NAN : sqrt(ss / (n - 1)) / sqrt(n);
        }
    }
}

static gm_status compute(collect *c, hid_t file, gm_error *err) {
    gm_summary *s = c->out;
    hid_t models = H5Gopen2(file, "models", H5P_DEFAULT);
    if (models < 0)
        return gm_h5_fail(err, GM_ERR_NOT_FOUND, c->path, "/models",
                          "no models group (not a gm run file?)");
    int n = gm_h5_list(models, &s->models);
    gm_status st = GM_OK;
    if (n < 0) {
        st = gm_h5_fail(err, GM_ERR_IO, c->path, "/models", "cannot list");
    } else {
        s->n_models = n;
        s->objectives = calloc((size_t)n + 1, sizeof *s->objectives);
        s->n_seeds = calloc((size_t)n + 1, sizeof *s->n_seeds);
        s->n_failed = calloc((size_t)n + 1, sizeof *s->n_failed);
        if (!s->objectives || !s->n_seeds || !s->n_failed) st = nomem(c, err);
    }
    for (int i = 0; st == GM_OK && i < s->n_models; i++)
        st = collect_model(c, models, i, err);
    H5Gclose(models);
    if (st == GM_OK) st = collect_floor(c, file, err);
    if (st == GM_OK) st = sweep_table(c, err);
    if (st != GM_OK) return st;
    size_t cells = (size_t)s->n_models * (size_t)s->n_metrics + 1;
    s->mean = malloc(cells * sizeof *s->mean);
    s->se = malloc(cells * sizeof *s->se);
    if (!s->mean || !s->se) return nomem(c, err);
    reduce(c);
    return GM_OK;
}

gm_status gm_runfile_compute_summary(hid_t file, const char *path,
                                     gm_summary *out, gm_error *err) {
    memset(out, 0, sizeof *out);
    collect c = {.path = path, .out = out};
    out->experiment = gm_h5_attr_read_str(file, "experiment");
    out->status = gm_h5_attr_read_str(file, "status");
    gm_status st = compute(&c, file, err);
    free(c.finals);
    for (int i = 0; i < c.n_cells; i++)
        free(c.cells[i].text);
    free(c.cells);
    if (st != GM_OK) gm_summary_clear(out);
    return st;
}

/* The unit and direction of the metrics still without one that a seed's
 * metrics group has series of. */
static void units_of_seed(hid_t metrics, gm_summary *s) {
    for (int j = 0; j < s->n_metrics; j++) {
        if (s->units[j] || H5Lexists(metrics, s->metrics[j], H5P_DEFAULT) <= 0)
            continue;
        hid_t ds = H5Dopen2(metrics, s->metrics[j], H5P_DEFAULT);
        if (ds < 0) continue;
        char *unit = gm_h5_attr_read_str(ds, "unit");
        char *better = unit ? gm_h5_attr_read_str(ds, "better") : NULL;
        H5Dclose(ds);
        if (unit && better) {
            s->units[j] = unit;
            s->better[j] = better;
        } else {
            free(unit);
            free(better);
        }
    }
}

gm_status gm_runfile_read_units(hid_t file, const char *path, gm_summary *out,
                                gm_error *err) {
    out->units = calloc((size_t)out->n_metrics + 1, sizeof *out->units);
    out->better = calloc((size_t)out->n_metrics + 1, sizeof *out->better);
    if (!out->units || !out->better)
        return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < out->n_models; i++) {
        char obj[GM_H5_OBJ_MAX];
        snprintf(obj, sizeof obj, "/models/%s", out->models[i]);
        hid_t g = H5Gopen2(file, obj, H5P_DEFAULT);
        if (g < 0) continue;
        char **names;
        int n = gm_h5_list(g, &names);
        for (int k = 0; k < n; k++) {
            if (strncmp(names[k], "seed_", 5) != 0) continue;
            char metrics[GM_H5_OBJ_MAX + 16];
            snprintf(metrics, sizeof metrics, "%s/metrics", names[k]);
            if (H5Lexists(g, names[k], H5P_DEFAULT) <= 0 ||
                H5Lexists(g, metrics, H5P_DEFAULT) <= 0)
                continue;
            hid_t m = H5Gopen2(g, metrics, H5P_DEFAULT);
            if (m < 0) continue;
            units_of_seed(m, out);
            H5Gclose(m);
        }
        gm_h5_names_free(names, n);
        H5Gclose(g);
    }
    return GM_OK;
}

void gm_summary_clear(gm_summary *s) {
    if (!s) return;
    free(s->experiment);
    free(s->status);
    gm_h5_names_free(s->models, s->n_models);
    gm_h5_names_free(s->objectives, s->n_models);
    gm_h5_names_free(s->units, s->n_metrics);
    gm_h5_names_free(s->better, s->n_metrics);
    gm_h5_names_free(s->metrics, s->n_metrics);
    gm_h5_names_free(s->sweep_keys, s->n_sweep);
    gm_h5_names_free(s->sweep_values, s->n_models * s->n_sweep);
    free(s->n_seeds);
    free(s->n_failed);
    free(s->mean);
    free(s->se);
    memset(s, 0, sizeof *s);
}
