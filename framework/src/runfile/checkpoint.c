/* Checkpoints: parameter views and optimizer state of one run.
 *
 *   checkpoint/<group>/<view>        float32, the view's shape
 *   checkpoint/<group>/optim         attrs kind, step_count
 *   checkpoint/<group>/optim/<slot>  float32 [numel]: m and v (Adam,
 *                                    AdamW) or momentum (SGD) */
#include "runfile/runfile_internal.h"

#include <string.h>

static const char *slot_name(gm_optim_kind kind, int slot) {
    if (kind == GM_OPTIM_SGD) return slot == 0 ? "momentum" : NULL;
    return slot == 0 ? "m" : slot == 1 ? "v" : NULL;
}

static void dims_of(const gm_shape *s, hsize_t *dims) {
    for (int i = 0; i < s->ndim; i++)
        dims[i] = (hsize_t)s->dim[i];
}

/* Opens `name` under loc, creating it (creation-ordered) if missing. */
static hid_t open_or_create_group(hid_t loc, const char *name) {
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0)
        return H5Gopen2(loc, name, H5P_DEFAULT);
    return gm_h5_group_create(loc, name);
}

static bool same_dims(hid_t ds, int rank, const hsize_t *dims) {
    hsize_t have[H5S_MAX_RANK];
    hid_t space = H5Dget_space(ds);
    int r = space >= 0 ? H5Sget_simple_extent_dims(space, have, NULL) : -1;
    if (space >= 0) H5Sclose(space);
    if (r != rank) return false;
    for (int i = 0; i < rank; i++)
        if (have[i] != dims[i]) return false;
    return true;
}

/* Writes a float32 dataset, in place when one of the same shape exists. */
static herr_t write_f32(hid_t loc, const char *name, int rank,
                        const hsize_t *dims, const float *data) {
    hid_t ds = -1;
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0) {
        ds = H5Dopen2(loc, name, H5P_DEFAULT);
        if (ds >= 0 && !same_dims(ds, rank, dims)) {
            H5Dclose(ds);
            ds = -1;
        }
        if (ds < 0 && H5Ldelete(loc, name, H5P_DEFAULT) < 0) return -1;
    }
    if (ds < 0) {
        hid_t space = H5Screate_simple(rank, dims, NULL);
        if (space < 0) return -1;
        ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
        H5Sclose(space);
        if (ds < 0) return -1;
    }
    herr_t rc =
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(ds);
    return rc;
}

static gm_status write_optim(const char *path, const char *obj, hid_t g,
                             gm_optim *o, size_t numel, gm_error *err) {
    char at[GM_H5_OBJ_MAX];
    gm_h5_join(at, obj, "optim");
    hid_t og = open_or_create_group(g, "optim");
    if (og < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, at, "cannot create group");
    gm_optim_kind kind = gm_optim_config_of(o)->kind;
    gm_status st = GM_OK;
    if (gm_h5_attr_str(og, "kind", gm_optim_kind_name(kind)) < 0 ||
        gm_h5_attr_i64(og, "step_count", gm_optim_step_count(o)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, at, "cannot write attributes");
    hsize_t dims[1] = {(hsize_t)numel};
    for (int slot = 0; st == GM_OK && slot < 2; slot++) {
        const float *state = gm_optim_state(o, slot);
        const char *name = slot_name(kind, slot);
        if (state && name && write_f32(og, name, 1, dims, state) < 0)
            st =
                gm_h5_fail(err, GM_ERR_IO, path, at, "cannot write '%s'", name);
    }
    H5Gclose(og);
    return st;
}

static gm_status write_group(const char *path, const char *seed_obj, hid_t ck,
                             gm_params *p, gm_optim *o, gm_error *err) {
    const char *name = gm_params_name(p);
    char ck_obj[GM_H5_OBJ_MAX], obj[GM_H5_OBJ_MAX];
    gm_h5_join(ck_obj, seed_obj, "checkpoint");
    gm_h5_join(obj, ck_obj, name);
    hid_t g = open_or_create_group(ck, name);
    if (g < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot create group");
    gm_status st = GM_OK;
    for (int i = 0; st == GM_OK && i < gm_params_count(p); i++) {
        const gm_param_view *v = gm_params_view(p, i);
        hsize_t dims[GM_MAX_DIMS];
        dims_of(&v->shape, dims);
        st = gm_h5_check_name(path, "parameter view", v->name, err);
        if (st == GM_OK && strcmp(v->name, "optim") == 0)
            st = gm_error_set(err, GM_ERR_INVALID,
                              "%s: %s: a view cannot be named 'optim'", path,
                              obj);
        if (st == GM_OK && write_f32(g, v->name, v->shape.ndim, dims,
                                     gm_params_data(p) + v->offset) < 0)
            st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot write view '%s'",
                            v->name);
    }
    if (st == GM_OK && o)
        st = write_optim(path, obj, g, o, gm_params_numel(p), err);
    H5Gclose(g);
    return st;
}

static gm_status check_groups(const char *path, gm_params *const *groups, int n,
                              gm_error *err) {
    for (int i = 0; i < n; i++) {
        gm_status st = gm_h5_check_name(path, "parameter group",
                                        gm_params_name(groups[i]), err);
        if (st != GM_OK) return st;
        for (int j = 0; j < i; j++)
            if (strcmp(gm_params_name(groups[i]), gm_params_name(groups[j])) ==
                0)
                return gm_error_set(err, GM_ERR_INVALID,
                                    "%s: two parameter groups are named '%s'",
                                    path, gm_params_name(groups[i]));
    }
    return GM_OK;
}

gm_status gm_runfile_write_checkpoint(gm_runfile *f, const char *model,
                                      uint64_t seed, gm_params *const *groups,
                                      int n_groups, gm_optim *const *optims,
                                      gm_error *err) {
    gm_status st = check_groups(f->path, groups, n_groups, err);
    if (st != GM_OK) return st;
    char seed_obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(seed_obj, model, seed);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t sg, ck = -1;
    st = gm_runfile_open_seed(f->file, f->path, model, seed, &sg, err);
    if (st == GM_OK && (ck = open_or_create_group(sg, "checkpoint")) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, seed_obj,
                        "cannot create group 'checkpoint'");
    for (int i = 0; st == GM_OK && i < n_groups; i++)
        st = write_group(f->path, seed_obj, ck, groups[i],
                         optims ? optims[i] : NULL, err);
    if (ck >= 0) H5Gclose(ck);
    if (sg >= 0) H5Gclose(sg);
    if (st == GM_OK && H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, "/", "cannot flush");
    gm_h5_quiet_end(q);
    return st;
}

/* ---- reading ------------------------------------------------------------ */

/* Values read for one group, committed only when every group has read. */
typedef struct staged {
    float *values;
    float *state[2];
    int64_t step_count;
} staged;

static void shape_str(int rank, const hsize_t *dims, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)dims[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* Reads a float dataset whose shape must be dims[rank]. */
static gm_status read_f32(const char *path, const char *obj, hid_t loc,
                          const char *name, int rank, const hsize_t *dims,
                          float *out, gm_error *err) {
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no dataset '%s'",
                            path, obj, name);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0)
        return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open '%s'", name);
    hsize_t have[H5S_MAX_RANK];
    hid_t space = H5Dget_space(ds);
    int r = space >= 0 ? H5Sget_simple_extent_dims(space, have, NULL) : -1;
    if (space >= 0) H5Sclose(space);
    gm_status st = GM_OK;
    if (!same_dims(ds, rank, dims)) {
        char want[96], got[96];
        shape_str(rank, dims, want, sizeof want);
        shape_str(r < 0 ? 0 : r, have, got, sizeof got);
        st = gm_error_set(err, GM_ERR_SHAPE,
                          "%s: %s/%s: shape %s in the file, %s expected", path,
                          obj, name, got, want);
    } else if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       out) < 0) {
        st = gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot read '%s'", name);
    }
    H5Dclose(ds);
    return st;
}

/* Every dataset of the file's group must be a view of p (or "optim"). */
static gm_status check_extra_views(const char *path, const char *obj, hid_t g,
                                   const gm_params *p, gm_error *err) {
    char **names;
    int n = gm_h5_list(g, &names);
    if (n < 0) return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot list");
    gm_status st = GM_OK;
    for (int i = 0; st == GM_OK && i < n; i++)
        if (strcmp(names[i], "optim") != 0 && gm_params_find(p, names[i]) < 0)
            st = gm_error_set(err, GM_ERR_SHAPE,
                              "%s: %s: the checkpoint has view '%s' that "
                              "group '%s' lacks",
                              path, obj, names[i], gm_params_name(p));
    gm_h5_names_free(names, n);
    return st;
}

static gm_status read_optim(const char *path, const char *obj, hid_t g,
                            gm_optim *o, size_t numel, staged *out,
                            gm_error *err) {
    char at[GM_H5_OBJ_MAX];
    gm_h5_join(at, obj, "optim");
    if (H5Lexists(g, "optim", H5P_DEFAULT) <= 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no optimizer state",
                            path, at);
    hid_t og = H5Gopen2(g, "optim", H5P_DEFAULT);
    if (og < 0) return gm_h5_fail(err, GM_ERR_IO, path, at, "cannot open");
    gm_optim_kind kind = gm_optim_config_of(o)->kind;
    char *file_kind = gm_h5_attr_read_str(og, "kind");
    gm_status st = GM_OK;
    if (!file_kind || strcmp(file_kind, gm_optim_kind_name(kind)) != 0)
        st = gm_error_set(err, GM_ERR_INVALID,
                          "%s: %s: optimizer kind '%s' in the file, '%s' "
                          "expected",
                          path, at, file_kind ? file_kind : "(none)",
                          gm_optim_kind_name(kind));
    else if (!gm_h5_attr_read_i64(og, "step_count", &out->step_count))
        st = gm_error_set(err, GM_ERR_NOT_FOUND,
                          "%s: %s: no attribute 'step_count'", path, at);
    free(file_kind);
    hsize_t dims[1] = {(hsize_t)numel};
    for (int slot = 0; st == GM_OK && slot < 2; slot++) {
        if (!gm_optim_state(o, slot)) continue;
        out->state[slot] = malloc((numel ? numel : 1) * sizeof(float));
        if (!out->state[slot])
            st = gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
        else
            st = read_f32(path, at, og, slot_name(kind, slot), 1, dims,
                          out->state[slot], err);
    }
    H5Gclose(og);
    return st;
}

static gm_status read_group(const char *path, const char *seed_obj, hid_t ck,
                            const gm_params *p, gm_optim *o, staged *out,
                            gm_error *err) {
    const char *name = gm_params_name(p);
    char ck_obj[GM_H5_OBJ_MAX], obj[GM_H5_OBJ_MAX];
    gm_h5_join(ck_obj, seed_obj, "checkpoint");
    gm_h5_join(obj, ck_obj, name);
    if (H5Lexists(ck, name, H5P_DEFAULT) <= 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "%s: %s: no parameter group '%s' in the checkpoint",
                            path, obj, name);
    hid_t g = H5Gopen2(ck, name, H5P_DEFAULT);
    if (g < 0) return gm_h5_fail(err, GM_ERR_IO, path, obj, "cannot open");
    size_t numel = gm_params_numel(p);
    out->values = malloc((numel ? numel : 1) * sizeof(float));
    gm_status st = out->values ? check_extra_views(path, obj, g, p, err)
                               : gm_error_set(err, GM_ERR_NOMEM,
                                              "%s: out of memory", path);
    for (int i = 0; st == GM_OK && i < gm_params_count(p); i++) {
        const gm_param_view *v = gm_params_view(p, i);
        hsize_t dims[GM_MAX_DIMS];
        dims_of(&v->shape, dims);
        st = read_f32(path, obj, g, v->name, v->shape.ndim, dims,
                      out->values + v->offset, err);
    }
    if (st == GM_OK && o) st = read_optim(path, obj, g, o, numel, out, err);
    H5Gclose(g);
    return st;
}

static void commit(gm_params *p, gm_optim *o, const staged *s) {
    size_t n = gm_params_numel(p);
    if (n) memcpy(gm_params_data(p), s->values, n * sizeof(float));
    if (!o) return;
    for (int slot = 0; slot < 2; slot++)
        if (s->state[slot] && n)
            memcpy(gm_optim_state(o, slot), s->state[slot], n * sizeof(float));
    gm_optim_set_step_count(o, (long)s->step_count);
}

static gm_status read_all(const char *path, hid_t file, const char *model,
                          uint64_t seed, gm_params *const *groups, int n,
                          gm_optim *const *optims, staged *stage,
                          gm_error *err) {
    char seed_obj[GM_H5_OBJ_MAX];
    gm_runfile_seed_path(seed_obj, model, seed);
    hid_t sg, ck = -1;
    gm_status st = gm_runfile_open_seed(file, path, model, seed, &sg, err);
    if (st != GM_OK) return st;
    if (H5Lexists(sg, "checkpoint", H5P_DEFAULT) <= 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: %s: no checkpoint", path,
                          seed_obj);
    else if ((ck = H5Gopen2(sg, "checkpoint", H5P_DEFAULT)) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, path, seed_obj,
                        "cannot open 'checkpoint'");
    for (int i = 0; st == GM_OK && i < n; i++)
        st = read_group(path, seed_obj, ck, groups[i],
                        optims ? optims[i] : NULL, &stage[i], err);
    if (ck >= 0) H5Gclose(ck);
    H5Gclose(sg);
    return st;
}

gm_status gm_runfile_read_checkpoint(const char *path, const char *model,
                                     uint64_t seed, gm_params *const *groups,
                                     int n_groups, gm_optim *const *optims,
                                     gm_error *err) {
    gm_status st = check_groups(path, groups, n_groups, err);
    if (st != GM_OK) return st;
    staged *stage = calloc(n_groups > 0 ? (size_t)n_groups : 1, sizeof *stage);
    if (!stage)
        return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    gm_h5_quiet q = gm_h5_quiet_begin();
    hid_t file;
    st = gm_h5_open_read(path, &file, err);
    if (st == GM_OK)
        st = read_all(path, file, model, seed, groups, n_groups, optims, stage,
                      err);
    if (file >= 0) H5Fclose(file);
    gm_h5_quiet_end(q);
    for (int i = 0; i < n_groups; i++) {
        if (st == GM_OK)
            commit(groups[i], optims ? optims[i] : NULL, &stage[i]);
        free(stage[i].values);
        free(stage[i].state[0]);
        free(stage[i].state[1]);
    }
    free(stage);
    return st;
}
