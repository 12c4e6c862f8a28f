/* Reading a run file: root attributes and the index of models and seeds. */
#include "runfile/runfile_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gm_status gm_runfile_read_info(const char *path, gm_runfile_info *out,
                               gm_error *err) {
    memset(out, 0, sizeof *out);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK) {
        out->gm_version = gm_h5_attr_read_str(file, "gm_version");
        out->experiment = gm_h5_attr_read_str(file, "experiment");
        out->status = gm_h5_attr_read_str(file, "status");
        out->created = gm_h5_attr_read_str(file, "created");
        out->config_yaml = gm_h5_attr_read_str(file, "config_yaml");
        if (!out->status)
            st = gm_error_set(err, GM_ERR_NOT_FOUND,
                              "%s: /: no 'status' attribute (not a gm run "
                              "file?)",
                              path);
        H5Fclose(file);
    }
    gm_h5_quiet_end(q);
    if (st != GM_OK) gm_runfile_info_clear(out);
    return st;
}

void gm_runfile_info_clear(gm_runfile_info *info) {
    if (!info) return;
    free(info->gm_version);
    free(info->experiment);
    free(info->status);
    free(info->created);
    free(info->config_yaml);
    memset(info, 0, sizeof *info);
}

/* Rows of metrics/step, 0 if there is none. */
static long evaluations(hid_t seed) {
    if (!gm_h5_exists(seed, "metrics/step")) return 0;
    hid_t ds = H5Dopen2(seed, "metrics/step", H5P_DEFAULT);
    if (ds < 0) return 0;
    hid_t space = H5Dget_space(ds);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : 0;
    if (space >= 0) H5Sclose(space);
    H5Dclose(ds);
    return n > 0 ? (long)n : 0;
}

static gm_status read_seeds(const char *path, const char *obj, hid_t g,
                            gm_runfile_model *m, gm_error *err) {
    char **names;
    int n = gm_h5_list(g, &names);
    if (n < 0) return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot list");
    m->seeds = calloc((size_t)n + 1, sizeof *m->seeds);
    gm_status st =
        m->seeds ? GM_OK
                 : gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; st == GM_OK && i < n; i++) {
        if (strncmp(names[i], "seed_", 5) != 0 ||
            gm_h5_kind(g, names[i]) != H5I_GROUP)
            continue;
        hid_t sg = H5Gopen2(g, names[i], H5P_DEFAULT);
        if (sg < 0) {
            st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open '%s'",
                            names[i]);
            break;
        }
        gm_runfile_seed *s = &m->seeds[m->n_seeds++];
        int64_t steps = 0;
        if (!gm_h5_attr_read_u64(sg, "seed", &s->seed))
            s->seed = strtoull(names[i] + 5, NULL, 10);
        gm_h5_attr_read_i64(sg, "steps", &steps);
        s->steps = (long)steps;
        s->evaluations = evaluations(sg);
        s->has_checkpoint = H5Lexists(sg, "checkpoint", H5P_DEFAULT) > 0;
        s->begun = H5Lexists(sg, "metrics", H5P_DEFAULT) > 0;
        char *status = gm_h5_attr_read_str(sg, "status");
        double seconds = NAN;
        gm_h5_attr_read_double(sg, "train_seconds", &seconds);
        /* files from before per-run status: finished runs have a time */
        s->complete = status ? strcmp(status, "complete") == 0
                             : isfinite(seconds);
        free(status);
        H5Gclose(sg);
    }
    gm_h5_names_free(names, n);
    return st;
}

static gm_status read_index(const char *path, hid_t file, gm_runfile_index *out,
                            gm_error *err) {
    hid_t models = H5Gopen2(file, "models", H5P_DEFAULT);
    if (models < 0)
        return gm_h5_fail(err, GM_ERR_NOT_FOUND, path, "/models",
                          "no models group (not a gm run file?)");
    char **names;
    int n = gm_h5_list(models, &names);
    gm_status st = GM_OK;
    if (n < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/models", "cannot list");
    else if (!(out->models = calloc((size_t)n + 1, sizeof *out->models)))
        st = gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; st == GM_OK && i < n; i++) {
        gm_runfile_model *m = &out->models[out->n_models++];
        m->name = names[i];
        names[i] = NULL;
        char obj[GM_H5_OBJ_MAX];
        snprintf(obj, sizeof obj, "/models/%s", m->name);
        hid_t g = H5Gopen2(models, m->name, H5P_DEFAULT);
        if (g < 0) {
            st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open");
            break;
        }
        m->objective = gm_h5_attr_read_str(g, "objective");
        st = read_seeds(path, obj, g, m, err);
        H5Gclose(g);
    }
    gm_h5_names_free(names, n);
    H5Gclose(models);
    return st;
}

gm_status gm_runfile_list_models(const char *path, gm_runfile_index *out,
                                 gm_error *err) {
    memset(out, 0, sizeof *out);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK) {
        st = read_index(path, file, out, err);
        H5Fclose(file);
    }
    gm_h5_quiet_end(q);
    if (st != GM_OK) gm_runfile_index_clear(out);
    return st;
}

void gm_runfile_index_clear(gm_runfile_index *index) {
    if (!index) return;
    for (int i = 0; i < index->n_models; i++) {
        free(index->models[i].name);
        free(index->models[i].objective);
        free(index->models[i].seeds);
    }
    free(index->models);
    memset(index, 0, sizeof *index);
}

gm_status gm_runfile_read_number(const char *path, const char *object,
                                 const char *name, double *out, gm_error *err) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK) {
        hid_t obj = gm_h5_exists(file, object)
                        ? H5Oopen(file, object, H5P_DEFAULT)
                        : H5I_INVALID_HID;
        if (obj < 0 || !gm_h5_attr_read_double(obj, name, out))
            st = gm_error_set(err, GM_ERR_NOT_FOUND,
                              "%s: %s: no number attribute '%s'", path, object,
                              name);
        if (obj >= 0) H5Oclose(obj);
        H5Fclose(file);
    }
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_runfile_read_last_metric(const char *path, const char *model,
                                      uint64_t seed, const char *metric,
                                      double *out, gm_error *err) {
    char obj[GM_H5_NAME_MAX * 2 + 64];
    snprintf(obj, sizeof obj, "/models/%s/seed_%llu/metrics/%s", model,
             (unsigned long long)seed, metric);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK) {
        hid_t ds = gm_h5_exists(file, obj) ? H5Dopen2(file, obj, H5P_DEFAULT)
                                           : H5I_INVALID_HID;
        hid_t space = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
        hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : 0;
        hsize_t at[1] = {n > 0 ? (hsize_t)n - 1 : 0}, one[1] = {1};
        hid_t mem = H5Screate_simple(1, one, NULL);
        if (n < 1 ||
            H5Sselect_hyperslab(space, H5S_SELECT_SET, at, NULL, one, NULL) <
                0 ||
            H5Dread(ds, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, out) < 0)
            st = gm_error_set(err, GM_ERR_NOT_FOUND,
                              "%s: %s: no value recorded", path, obj);
        if (mem >= 0) H5Sclose(mem);
        if (space >= 0) H5Sclose(space);
        if (ds >= 0) H5Dclose(ds);
        H5Fclose(file);
    }
    gm_h5_quiet_end(q);
    return st;
}
