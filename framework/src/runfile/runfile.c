/* The run file: creation, root attributes, /dataset, /models, status. */
#include "runfile/runfile_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gm/gm.h"

/* mkdir -p for every directory above `path`. */
static gm_status make_parents(const char *path, gm_error *err) {
    char *dir = strdup(path);
    if (!dir) return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    gm_status st = GM_OK;
    for (char *p = dir + 1; *p && st == GM_OK; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            st = gm_error_set(err, GM_ERR_IO,
                              "%s: cannot create directory '%s': %s", path, dir,
                              strerror(errno));
        *p = '/';
    }
    free(dir);
    return st;
}

static void iso8601_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static gm_status write_root(gm_runfile *f, const char *experiment,
                            const char *config_yaml, gm_error *err) {
    char created[32];
    iso8601_now(created, sizeof created);
    const char *bf16 = gm_bf16_isa();
    const char *names[] = {"gm_version", "experiment", "status", "created",
                           "config_yaml", "blas_core", "bf16_isa"};
    const char *values[] = {gm_version(), experiment, "running", created,
                            config_yaml, gm_blas_core(), bf16 ? bf16 : "none"};
    for (int i = 0; i < 7; i++)
        if (gm_h5_attr_str(f->file, names[i], values[i]) < 0)
            return gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                              "cannot write attribute '%s'", names[i]);
    hid_t g = gm_h5_group_create(f->file, "models");
    if (g < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/models",
                          "cannot create group");
    H5Gclose(g);
    return gm_runfile_changed(f, err);
}

static gm_runfile *runfile_alloc(const char *path, const char *target,
                                 const char *live_path, gm_error *err) {
    gm_runfile *f = calloc(1, sizeof *f);
    if (f) {
        f->file = H5I_INVALID_HID;
        f->lock_fd = f->live_lock_fd = -1;
        f->path = strdup(path);
        f->target = strdup(target);
        f->live_path = strdup(live_path);
    }
    if (!f || !f->path || !f->target || !f->live_path) {
        if (f) {
            free(f->path);
            free(f->target);
            free(f->live_path);
        }
        free(f);
        gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    return f;
}

/* The in-memory file of a new run file, with room for gm's header in the
 * user block. */
static hid_t create_in_memory(const char *live) {
    hid_t fapl = gm_runfile_memory_fapl();
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t file = -1;
    if (fapl >= 0 && fcpl >= 0 && H5Pset_userblock(fcpl, GM_IMAGE_HEADER) >= 0)
        file = H5Fcreate(live, H5F_ACC_TRUNC, fcpl, fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    return file;
}

gm_runfile *gm_runfile_create(const char *path, gm_runfile_mode mode,
                              const char *experiment, const char *config_yaml,
                              gm_error *err) {
    if (!path || !*path) {
        gm_error_set(err, GM_ERR_INVALID, "run file: empty path");
        return NULL;
    }
    if (strlen(path) > GM_PATH_BUF - 16) {
        gm_error_set(err, GM_ERR_INVALID, "run file: path too long: %s", path);
        return NULL;
    }
    char target[GM_PATH_BUF - 16];
    if (make_parents(path, err) != GM_OK ||
        gm_runfile_resolve(path, target, sizeof target, err) != GM_OK)
        return NULL;
    struct stat st_path;
    bool exists = lstat(target, &st_path) == 0;
    if (exists && mode == GM_RUNFILE_NEW) {
        gm_error_set(err, GM_ERR_STATE, "%s exists", path);
        return NULL;
    }
    /* A directory, a device (/dev/null), a FIFO: not a run file to replace */
    if (exists && !S_ISREG(st_path.st_mode)) {
        gm_error_set(err, GM_ERR_INVALID,
                     "%s is not a regular file; only a run file is replaced",
                     path);
        return NULL;
    }
    char live[GM_PATH_BUF];
    snprintf(live, sizeof live, "%s%s", target, exists ? ".new" : "");
    gm_runfile *f = runfile_alloc(path, target, live, err);
    if (!f) return NULL;
    gm_status st = gm_runfile_lock(f, err);
    gm_h5_quiet q = gm_h5_quiet_begin();
    if (st == GM_OK && (f->file = create_in_memory(live)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/", "cannot create run file");
    if (st == GM_OK)
        st = write_root(f, experiment ? experiment : "", config_yaml, err);
    gm_h5_quiet_end(q);
    if (st != GM_OK) {
        gm_runfile_close(f, NULL);
        return NULL;
    }
    return f;
}

gm_runfile *gm_runfile_resume(const char *path, gm_error *err) {
    if (!path || !*path || strlen(path) > GM_PATH_BUF - 16) {
        gm_error_set(err, GM_ERR_INVALID, "run file: empty or too long path");
        return NULL;
    }
    char target[GM_PATH_BUF - 16];
    if (gm_runfile_resolve(path, target, sizeof target, err) != GM_OK)
        return NULL;
    /* Before taking the lock, which leaves a lock file beside it. */
    struct stat st_path;
    if (stat(target, &st_path) != 0) {
        gm_error_set(err, errno == ENOENT ? GM_ERR_NOT_FOUND : GM_ERR_IO,
                     "%s: cannot open run file: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st_path.st_mode)) {
        gm_error_set(err, GM_ERR_IO, "%s: not a regular file", path);
        return NULL;
    }
    gm_runfile *f = runfile_alloc(path, target, target, err);
    if (!f) return NULL;
    gm_status st = gm_runfile_lock(f, err);
    gm_h5_quiet q = gm_h5_quiet_begin();
    /* Read under the lock: no other writer publishes between the read and
     * this writer's first publication. */
    hid_t fapl = st == GM_OK ? gm_runfile_memory_fapl() : -1;
    if (st == GM_OK && fapl < 0)
        st = gm_h5_fail(err, GM_ERR_NOMEM, path, "/", "cannot open");
    if (st == GM_OK) st = gm_image_open(target, true, fapl, &f->file, err);
    if (fapl >= 0) H5Pclose(fapl);
    if (st == GM_OK && gm_h5_attr_str(f->file, "status", "running") < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/",
                        "cannot write attribute 'status'");
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    if (st != GM_OK) {
        gm_runfile_close(f, NULL);
        return NULL;
    }
    return f;
}

const char *gm_runfile_path(const gm_runfile *f) { return f->path; }

/* centers [k,d] as float64 (HDF5 converts from float). */
static gm_status write_centers(gm_runfile *f, hid_t g, const float *centers,
                               int k, int d, double std, gm_error *err) {
    hsize_t dims[2] = {(hsize_t)k, (hsize_t)d};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t ds = H5Dcreate2(g, "centers", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT);
    gm_status st = GM_OK;
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           centers) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset/centers",
                        "cannot write");
    else if (gm_h5_attr_double(g, "std", std) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset",
                        "cannot write attribute 'std'");
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    return st;
}

static herr_t write_attr(hid_t g, const gm_runfile_attr *a) {
    switch (a->type) {
    case GM_RUNFILE_ATTR_INTEGER: return gm_h5_attr_i64(g, a->name, a->integer);
    case GM_RUNFILE_ATTR_TEXT: return gm_h5_attr_str(g, a->name, a->text);
    case GM_RUNFILE_ATTR_NUMBER: break;
    }
    return gm_h5_attr_double(g, a->name, a->number);
}

gm_status gm_runfile_set_dataset(gm_runfile *f, const char *name,
                                 const gm_runfile_attr *attrs, int n_attrs,
                                 const float *centers, int k, int d, double std,
                                 gm_error *err) {
    if (centers && (k < 1 || d < 1))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: /dataset: centers need k >= 1 and d >= 1 "
                            "(got k %d, d %d)",
                            f->path, k, d);
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    if (H5Lexists(f->file, "dataset", H5P_DEFAULT) > 0 &&
        H5Ldelete(f->file, "dataset", H5P_DEFAULT) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset",
                        "cannot replace the group");
    hid_t g = st == GM_OK ? gm_h5_group_create(f->file, "dataset") : -1;
    if (st == GM_OK && g < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset",
                        "cannot create group");
    if (st == GM_OK && gm_h5_attr_str(g, "name", name) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset",
                        "cannot write attribute 'name'");
    for (int i = 0; st == GM_OK && i < n_attrs; i++)
        if (write_attr(g, &attrs[i]) < 0)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, "/dataset",
                            "cannot write attribute '%s'", attrs[i].name);
    if (st == GM_OK && centers)
        st = write_centers(f, g, centers, k, d, std, err);
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

static gm_status write_hparams(gm_runfile *f, hid_t g, const char *obj,
                               const gm_hparams *params, gm_error *err) {
    for (int i = 0; params && i < params->n; i++) {
        const char *key = params->item[i].name;
        if (strcmp(key, "objective") == 0)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: %s: a hyperparameter cannot be named "
                                "'objective'",
                                f->path, obj);
        /* integers and booleans (0 or 1) as int64, as h5py reads them */
        gm_hparam_type type = params->item[i].type;
        double number = params->item[i].number;
        herr_t rc = type == GM_HP_CHOICE
                        ? gm_h5_attr_str(g, key, params->item[i].choice)
                    : type == GM_HP_INT || type == GM_HP_BOOL
                        ? gm_h5_attr_i64(g, key, (int64_t)number)
                        : gm_h5_attr_double(g, key, number);
        if (rc < 0)
            return gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                              "cannot write attribute '%s'", key);
    }
    return GM_OK;
}

gm_status gm_runfile_add_model(gm_runfile *f, const char *model,
                               const char *objective, const gm_hparams *params,
                               gm_error *err) {
    gm_status st = gm_h5_check_name(f->path, "model", model, err);
    if (st != GM_OK) return st;
    char obj[GM_H5_OBJ_MAX];
    snprintf(obj, sizeof obj, "/models/%s", model);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t g = -1;
    if (H5Lexists(f->file, obj, H5P_DEFAULT) > 0)
        st = gm_error_set(err, GM_ERR_STATE, "%s: %s: model already added",
                          f->path, obj);
    else if ((g = gm_h5_group_create(f->file, obj)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot create group");
    else if (gm_h5_attr_str(g, "objective", objective) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                        "cannot write attribute 'objective'");
    else
        st = write_hparams(f, g, obj, params, err);
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

static herr_t write_sweep_value(hid_t g, const gm_sweep_value *v) {
    char name[GM_SWEEP_KEY_MAX + 8];
    snprintf(name, sizeof name, "sweep.%s", v->key);
    if (!v->is_number) return gm_h5_attr_str(g, name, v->text);
    return v->is_integer ? gm_h5_attr_i64(g, name, (int64_t)v->number)
                         : gm_h5_attr_double(g, name, v->number);
}

gm_status gm_runfile_set_model_sweep(gm_runfile *f, const char *model,
                                     const gm_sweep_value *values, int n,
                                     gm_error *err) {
    if (n <= 0) return GM_OK;
    char obj[GM_H5_OBJ_MAX];
    snprintf(obj, sizeof obj, "/models/%s", model);
    char *keys[GM_SWEEP_MAX_KEYS];
    for (int i = 0; i < n && i < GM_SWEEP_MAX_KEYS; i++)
        keys[i] = (char *)values[i].key;
    if (n > GM_SWEEP_MAX_KEYS)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: %d swept keys, at most %d", f->path, obj,
                            n, GM_SWEEP_MAX_KEYS);
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    hid_t g = H5Gopen2(f->file, obj, H5P_DEFAULT);
    if (g < 0)
        st = gm_h5_fail(err, GM_ERR_STATE, f->path, obj, "no such model");
    else if (gm_h5_attr_strs(g, "sweep_keys", keys, n) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                        "cannot write attribute 'sweep_keys'");
    for (int i = 0; st == GM_OK && i < n; i++)
        if (write_sweep_value(g, &values[i]) < 0)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                            "cannot write attribute 'sweep.%s'", values[i].key);
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

/* Writes attribute `name` of /models/<model>: the text if there is one,
 * else the number. */
static gm_status set_model_attribute(gm_runfile *f, const char *model,
                                     const char *name, const char *text,
                                     double number, gm_error *err) {
    char obj[GM_H5_OBJ_MAX];
    snprintf(obj, sizeof obj, "/models/%s", model);
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    hid_t g = H5Gopen2(f->file, obj, H5P_DEFAULT);
    if (g < 0)
        st = gm_h5_fail(err, GM_ERR_STATE, f->path, obj, "no such model");
    else if ((text ? gm_h5_attr_str(g, name, text)
                   : gm_h5_attr_double(g, name, number)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                        "cannot write attribute '%s'", name);
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_runfile_set_model_attr(gm_runfile *f, const char *model,
                                    const char *name, double value,
                                    gm_error *err) {
    return set_model_attribute(f, model, name, NULL, value, err);
}

gm_status gm_runfile_set_model_text(gm_runfile *f, const char *model,
                                    const char *name, const char *value,
                                    gm_error *err) {
    return set_model_attribute(f, model, name, value ? value : "", 0, err);
}

/* Writes the status; a `done` file (every run ended or checkpointed) is
 * synced and may replace the file it was written to replace. */
static gm_status set_status(gm_runfile *f, const char *status, bool done,
                            gm_error *err) {
    bool ok = status && (strcmp(status, "complete") == 0 ||
                         strcmp(status, "interrupted") == 0 ||
                         strcmp(status, "running") == 0 ||
                         (strncmp(status, "failed: ", 8) == 0 && status[8]));
    if (!ok)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: status must be \"running\", \"complete\", "
                            "\"interrupted\" or \"failed: <why>\", not \"%s\"",
                            f->path, status ? status : "(null)");
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    if (gm_h5_attr_str(f->file, "status", status) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                        "cannot write attribute 'status'");
    else
        st = gm_runfile_publish(f, done, err);
    f->replaceable = st == GM_OK && done;
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_runfile_set_status(gm_runfile *f, const char *status,
                                gm_error *err) {
    bool done = status && (strcmp(status, "complete") == 0 ||
                           strcmp(status, "interrupted") == 0);
    return set_status(f, status, done, err);
}

gm_status gm_runfile_set_ended(gm_runfile *f, const char *status,
                               gm_error *err) {
    return set_status(f, status, true, err);
}

gm_status gm_runfile_close(gm_runfile *f, gm_error *err) {
    if (!f) return GM_OK;
    gm_status st = GM_OK;
    while (f->logs) gm_run_log_detach(f->logs);
    if (f->file >= 0 && f->dirty) st = gm_runfile_publish(f, false, err);
    if (f->file >= 0) {
        /* Every function closes what it opens; a leak would keep the file
         * open after H5Fclose. */
        GM_ASSERT(H5Fget_obj_count(f->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                H5F_OBJ_DATATYPE |
                                                H5F_OBJ_ATTR | H5F_OBJ_LOCAL) ==
                  0);
        gm_h5_quiet q = gm_h5_quiet_begin();
        H5Fclose(f->file); /* the memory copy: what counts is published */
        gm_h5_quiet_end(q);
    }
    /* Replacing an existing file: only by a finished or interrupted run. */
    if (st == GM_OK && f->replaceable && strcmp(f->live_path, f->target) != 0 &&
        rename(f->live_path, f->target) != 0)
        st = gm_error_set(err, GM_ERR_IO, "%s: cannot replace it with %s: %s",
                          f->path, f->live_path, strerror(errno));
    gm_runfile_unlock(f);
    free(f->image);
    free(f->live_path);
    free(f->target);
    free(f->path);
    free(f);
    return st;
}

const char *gm_runfile_live_path(const gm_runfile *f) { return f->live_path; }

void gm_runfile_seed_path(char *buf, const char *model, uint64_t seed) {
    snprintf(buf, GM_H5_OBJ_MAX, "/models/%s/seed_%" PRIu64, model, seed);
}

gm_status gm_runfile_open_seed(hid_t file, const char *path, const char *model,
                               uint64_t seed, hid_t *group, gm_error *err) {
    *group = H5I_INVALID_HID;
    gm_status st = gm_h5_check_name(path, "model", model, err);
    if (st != GM_OK) return st;
    char obj[GM_H5_OBJ_MAX], model_obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(obj, model, seed);
    snprintf(model_obj, sizeof model_obj, "/models/%s", model);
    if (!gm_h5_exists(file, model_obj))
        return gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no such model",
                            path, model_obj);
    if (!gm_h5_exists(file, obj))
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "%s: %s: no run for seed %" PRIu64, path, obj,
                            seed);
    *group = H5Gopen2(file, obj, H5P_DEFAULT);
    if (*group < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open group");
    return GM_OK;
}
