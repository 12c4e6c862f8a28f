/* Checkpoints: a run's state (gm/state.h) under
 * /models/<model>/seed_<s>/checkpoint, one dataset per record at the
 * record's path, in its type and shape (h5py reads parameters as arrays:
 * checkpoint/params/<group>/<view>). The run file knows nothing of what
 * the records mean. */
#include "runfile/runfile_internal.h"

#include <string.h>

static hid_t file_type(gm_state_type t) {
    switch (t) {
    case GM_STATE_F32: return H5T_IEEE_F32LE;
    case GM_STATE_F64: return H5T_IEEE_F64LE;
    case GM_STATE_I64: return H5T_STD_I64LE;
    case GM_STATE_U64: return H5T_STD_U64LE;
    default: return H5T_STD_I32LE;
    }
}

static hid_t memory_type(gm_state_type t) {
    switch (t) {
    case GM_STATE_F32: return H5T_NATIVE_FLOAT;
    case GM_STATE_F64: return H5T_NATIVE_DOUBLE;
    case GM_STATE_I64: return H5T_NATIVE_INT64;
    case GM_STATE_U64: return H5T_NATIVE_UINT64;
    default: return H5T_NATIVE_INT32;
    }
}

/* The state type of a dataset's file type; false if gm writes none such. */
static bool state_type_of(hid_t type, gm_state_type *out) {
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_FLOAT) {
        *out = size == 4 ? GM_STATE_F32 : GM_STATE_F64;
        return size == 4 || size == 8;
    }
    if (cls != H5T_INTEGER) return false;
    bool sign = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 4 && sign) *out = GM_STATE_I32;
    else if (size == 8) *out = sign ? GM_STATE_I64 : GM_STATE_U64;
    else return false;
    return true;
}

/* A dataset at `name` (a path below loc) of this type and shape, reused
 * when one exists (the checkpoint is rewritten in place), else created
 * with its missing parent groups. */
static hid_t dataset_for(hid_t loc, const char *name, const gm_state_record *r,
                         const hsize_t *dims) {
    if (gm_h5_exists(loc, name)) {
        hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
        hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
        hid_t type = ds >= 0 ? H5Dget_type(ds) : -1;
        hsize_t have[H5S_MAX_RANK];
        gm_state_type t;
        bool same = space >= 0 && type >= 0 &&
                    H5Sget_simple_extent_ndims(space) == r->rank &&
                    state_type_of(type, &t) && t == r->type;
        if (same) H5Sget_simple_extent_dims(space, have, NULL);
        for (int i = 0; same && i < r->rank; i++)
            same = have[i] == dims[i];
        if (space >= 0) H5Sclose(space);
        if (type >= 0) H5Tclose(type);
        if (same) return ds;
        if (ds >= 0) H5Dclose(ds);
        if (H5Ldelete(loc, name, H5P_DEFAULT) < 0) return -1;
    }
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t space = r->rank ? H5Screate_simple(r->rank, dims, NULL)
                          : H5Screate(H5S_SCALAR);
    hid_t ds = space >= 0 ? H5Dcreate2(loc, name, file_type(r->type), space,
                                       lcpl, H5P_DEFAULT, H5P_DEFAULT)
                          : -1;
    if (space >= 0) H5Sclose(space);
    H5Pclose(lcpl);
    return ds;
}

static gm_status write_record(gm_runfile *f, const char *obj, hid_t ck,
                              const gm_state_record *r, gm_error *err) {
    char name[GM_H5_OBJ_MAX];
    if (r->name_len >= sizeof name)
        return gm_error_set(err, GM_ERR_INVALID, "%s: %s: record name too long",
                            f->path, obj);
    memcpy(name, r->name, r->name_len);
    name[r->name_len] = '\0';
    hsize_t dims[GM_STATE_MAX_RANK];
    for (int i = 0; i < r->rank; i++)
        dims[i] = (hsize_t)r->dims[i];
    hid_t ds = dataset_for(ck, name, r, dims);
    herr_t rc = ds >= 0 && r->count > 0
                    ? H5Dwrite(ds, memory_type(r->type), H5S_ALL, H5S_ALL,
                               H5P_DEFAULT, r->data)
                    : ds >= 0 ? 0 : -1;
    gm_status st = GM_OK;
    if (rc < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot write '%s'",
                        name);
    if (ds >= 0) H5Dclose(ds);
    return st;
}

gm_status gm_runfile_write_state(gm_runfile *f, const char *model,
                                 uint64_t seed, const gm_state *state,
                                 gm_error *err) {
    char seed_obj[GM_H5_OBJ_MAX], obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(seed_obj, model, seed);
    gm_h5_join(obj, seed_obj, "checkpoint");
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t sg, ck = -1;
    gm_status st = gm_runfile_open_seed(f->file, f->path, model, seed, &sg, err);
    if (st == GM_OK) {
        ck = gm_h5_exists(sg, "checkpoint")
                 ? H5Gopen2(sg, "checkpoint", H5P_DEFAULT)
                 : gm_h5_group_create(sg, "checkpoint");
        if (ck < 0)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot create group");
    }
    for (int i = 0; st == GM_OK && i < gm_state_count(state); i++) {
        gm_state_record r = gm_state_at(state, i);
        st = write_record(f, obj, ck, &r, err);
    }
    if (ck >= 0) H5Gclose(ck);
    if (sg >= 0) H5Gclose(sg);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

/* /models/<model> of an open file, with an error naming it if missing. */
static hid_t open_model(hid_t file, const char *path, const char *model,
                        char *obj, gm_error *err) {
    snprintf(obj, GM_H5_OBJ_MAX, "/models/%s", model);
    if (gm_h5_check_name(path, "model", model, err) != GM_OK) return -1;
    hid_t g = gm_h5_exists(file, obj) ? H5Gopen2(file, obj, H5P_DEFAULT) : -1;
    if (g < 0)
        gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no such model", path,
                     obj);
    return g;
}

static gm_status model_text(hid_t file, const char *path, const char *model,
                            const char *name, char **out, gm_error *err) {
    char obj[GM_H5_OBJ_MAX];
    *out = NULL;
    hid_t g = open_model(file, path, model, obj, err);
    gm_status st = g < 0 ? err->status : GM_OK;
    if (g >= 0 && H5Aexists(g, name) > 0 &&
        !(*out = gm_h5_attr_read_str(g, name)))
        st = gm_error_set(err, GM_ERR_INVALID,
                          "%s: %s: attribute '%s' is not a string", path, obj,
                          name);
    if (g >= 0) H5Gclose(g);
    return st;
}

gm_status gm_runfile_model_text(gm_runfile *f, const char *model,
                                const char *name, char **out, gm_error *err) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = model_text(f->file, f->path, model, name, out, err);
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_runfile_read_models_text(const char *path,
                                      const char *const *attrs, int n_attrs,
                                      char ***out, int *n, gm_error *err) {
    for (int a = 0; a < n_attrs; a++)
        out[a] = NULL;
    *n = 0;
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file, models = -1;
    char **names = NULL;
    int count = -1;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK && (models = H5Gopen2(file, "models", H5P_DEFAULT)) < 0)
        st = gm_h5_fail(err, GM_ERR_NOT_FOUND, path, "/models",
                        "no models group (not a gm run file?)");
    if (st == GM_OK && (count = gm_h5_list(models, &names)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, "/models", "cannot list");
    for (int a = 0; st == GM_OK && count >= 0 && a < n_attrs; a++)
        if (!(out[a] = calloc((size_t)count + 1, sizeof *out[a])))
            st = gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    if (st == GM_OK) *n = count;
    for (int i = 0; st == GM_OK && i < count; i++)
        for (int a = 0; st == GM_OK && a < n_attrs; a++)
            st = model_text(file, path, names[i], attrs[a], &out[a][i], err);
    if (count >= 0) gm_h5_names_free(names, count);
    if (models >= 0) H5Gclose(models);
    if (file >= 0) H5Fclose(file);
    gm_h5_quiet_end(q);
    if (st != GM_OK) {
        for (int a = 0; a < n_attrs; a++) {
            gm_h5_names_free(out[a], *n);
            out[a] = NULL;
        }
        *n = 0;
    }
    return st;
}

void gm_runfile_texts_free(char **texts, int n) { gm_h5_names_free(texts, n); }

/* ---- reading ------------------------------------------------------------ */

typedef struct visit {
    gm_state *out;
    const char *path, *obj;
    gm_error *err;
    gm_status st;
} visit;

static herr_t read_record(hid_t ck, const char *name, const H5O_info_t *info,
                          void *ctx) {
    visit *v = ctx;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t ds = H5Dopen2(ck, name, H5P_DEFAULT);
    hid_t space = ds >= 0 ? H5Dget_space(ds) : -1;
    hid_t type = ds >= 0 ? H5Dget_type(ds) : -1;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    gm_state_type t;
    hsize_t dims[H5S_MAX_RANK];
    if (rank < 0 || rank > GM_STATE_MAX_RANK || type < 0 ||
        !state_type_of(type, &t)) {
        v->st = gm_error_set(v->err, GM_ERR_INVALID,
                             "%s: %s/%s: not a checkpoint record", v->path,
                             v->obj, name);
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        int64_t d64[GM_STATE_MAX_RANK];
        size_t count = 1;
        for (int i = 0; i < rank; i++)
            count *= (size_t)(d64[i] = (int64_t)dims[i]);
        void *buf = malloc(count ? count * gm_state_type_size(t) : 1);
        if (!buf)
            v->st = gm_error_set(v->err, GM_ERR_NOMEM, "%s: out of memory",
                                 v->path);
        else if (count && H5Dread(ds, memory_type(t), H5S_ALL, H5S_ALL,
                                  H5P_DEFAULT, buf) < 0)
            v->st = gm_h5_fail(v->err, GM_ERR_IO, v->path, v->obj,
                               "cannot read '%s'", name);
        else
            v->st = gm_state_put(v->out, name, t, rank, d64, buf, v->err);
        free(buf);
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
    return v->st == GM_OK ? 0 : -1;
}

static gm_status load_state(hid_t file, const char *path, const char *model,
                            uint64_t seed, gm_state *out, gm_error *err) {
    gm_state_reset(out);
    char seed_obj[GM_H5_OBJ_MAX], obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(seed_obj, model, seed);
    gm_h5_join(obj, seed_obj, "checkpoint");
    hid_t sg;
    gm_status st = gm_runfile_open_seed(file, path, model, seed, &sg, err);
    if (st != GM_OK) return st;
    hid_t ck = -1;
    if (!gm_h5_exists(sg, "checkpoint"))
        st = gm_error_set(err, GM_ERR_NOT_FOUND,
                          "%s: %s: no checkpoint yet (the run stopped before "
                          "its first one)",
                          path, seed_obj);
    else if ((ck = H5Gopen2(sg, "checkpoint", H5P_DEFAULT)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open");
    if (st == GM_OK) {
        visit v = {.out = out, .path = path, .obj = obj, .err = err};
        if (H5Ovisit(ck, H5_INDEX_NAME, H5_ITER_INC, read_record, &v) < 0 &&
            v.st == GM_OK)
            v.st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot list");
        st = v.st;
    }
    if (ck >= 0) H5Gclose(ck);
    H5Gclose(sg);
    return st;
}

gm_status gm_runfile_load_state(gm_runfile *f, const char *model,
                                uint64_t seed, gm_state *out, gm_error *err) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = load_state(f->file, f->path, model, seed, out, err);
    gm_h5_quiet_end(q);
    return st;
}

gm_status gm_runfile_read_state(const char *path, const char *model,
                                uint64_t seed, gm_state *out, gm_error *err) {
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    gm_status st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK) st = load_state(file, path, model, seed, out, err);
    if (file >= 0) H5Fclose(file);
    gm_h5_quiet_end(q);
    return st;
}
