/* /dataset/floor: the real-data floor, gm's sample metrics of real rows
 * in place of a model's samples (train/own_metrics.c), one float64 scalar
 * per metric with the attrs unit and better of a series, and the group's
 * attr `rows` saying which real rows against which reference. */
#include "runfile/runfile_internal.h"

#include <string.h>

gm_status gm_runfile_set_floor(gm_runfile *f, const char *rows,
                               const gm_metric_info *const *infos,
                               const double *values, int n, gm_error *err) {
    const char *obj = "/dataset/floor";
    gm_h5_quiet q = gm_h5_quiet_begin();
    gm_status st = GM_OK;
    if (H5Lexists(f->file, "dataset", H5P_DEFAULT) <= 0)
        st = gm_error_set(err, GM_ERR_STATE,
                          "%s: /dataset/floor before /dataset", f->path);
    if (st == GM_OK && H5Lexists(f->file, obj, H5P_DEFAULT) > 0 &&
        H5Ldelete(f->file, obj, H5P_DEFAULT) < 0)
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj,
                        "cannot replace the group");
    hid_t g = st == GM_OK ? gm_h5_group_create(f->file, obj) : -1;
    if (st == GM_OK && (g < 0 || gm_h5_attr_str(g, "rows", rows) < 0))
        st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot create");
    for (int i = 0; st == GM_OK && i < n; i++) {
        hid_t space = H5Screate(H5S_SCALAR);
        hid_t ds = space >= 0
                       ? H5Dcreate2(g, infos[i]->name, H5T_IEEE_F64LE, space,
                                    H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                       : -1;
        if (ds < 0 ||
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     &values[i]) < 0 ||
            gm_h5_attr_str(ds, "unit", infos[i]->unit) < 0 ||
            gm_h5_attr_str(ds, "better", gm_better_name(infos[i]->better)) < 0)
            st = gm_h5_fail(err, GM_ERR_IO, f->path, obj, "cannot write '%s'",
                            infos[i]->name);
        if (ds >= 0) H5Dclose(ds);
        if (space >= 0) H5Sclose(space);
    }
    if (g >= 0) H5Gclose(g);
    if (st == GM_OK) st = gm_runfile_changed(f, err);
    gm_h5_quiet_end(q);
    return st;
}

int gm_runfile_read_floor(hid_t file, char ***names, double **values) {
    *names = NULL;
    *values = NULL;
    if (H5Lexists(file, "dataset", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "dataset/floor", H5P_DEFAULT) <= 0)
        return 0;
    hid_t g = H5Gopen2(file, "dataset/floor", H5P_DEFAULT);
    int n = g >= 0 ? gm_h5_list(g, names) : -1;
    if (n > 0) *values = calloc((size_t)n, sizeof **values);
    for (int i = 0; n > 0 && *values && i < n; i++) {
        hid_t ds = H5Dopen2(g, (*names)[i], H5P_DEFAULT);
        if (ds < 0 || H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, &(*values)[i]) < 0)
            n = -1;
        if (ds >= 0) H5Dclose(ds);
    }
    if (g >= 0) H5Gclose(g);
    if (n > 0 && !*values) n = -1;
    if (n <= 0) {
        gm_h5_names_free(*names, n > 0 ? n : 0);
        free(*values);
        *names = NULL;
        *values = NULL;
    }
    return n;
}
