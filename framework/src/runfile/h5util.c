#include "runfile/h5util.h"

#include <stdarg.h>
#include <string.h>

gm_h5_quiet gm_h5_quiet_begin(void) {
    gm_h5_quiet q = {0};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void gm_h5_quiet_end(gm_h5_quiet q) {
    /* gm has reported any error itself. Left on the stack, the entries of
     * a thread that then exits keep HDF5 from closing ("infinite loop
     * closing library" at exit). */
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q.func, q.data);
}

/* Walking upward, entry 0 is where the error was detected. */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
    if (n == 0 && e->desc) snprintf(data, 160, "%s", e->desc);
    return 0;
}

gm_status gm_h5_fail(gm_error *err, gm_status status, const char *file,
                     const char *object, const char *fmt, ...) {
    char what[256], detail[160] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
    if (detail[0])
        return gm_error_set(err, status, "%s: %s: %s (HDF5: %s)", file, object,
                            what, detail);
    return gm_error_set(err, status, "%s: %s: %s", file, object, what);
}

/* The 1.8 object format (superblock v2) is readable by every HDF5 since
 * 1.8 and, unlike the 1.10 superblock, records no "open for writing" flag,
 * so a file whose writer crashed opens without h5clear. File locking is
 * off so that h5py and h5dump can read a run while gm writes it. (HDF5
 * refuses to open one file twice in a process with different locking
 * settings: in-process readers should use this fapl or gm's readers.) */
hid_t gm_h5_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) ||     \
    H5_VERSION_GE(1, 12, 1)
    H5Pset_file_locking(fapl, false, true);
#endif
    return fapl;
}

gm_status gm_h5_open_read(const char *path, hid_t *file, gm_error *err) {
    hid_t fapl = gm_h5_fapl();
    if (fapl < 0) {
        *file = H5I_INVALID_HID;
        return gm_h5_fail(err, GM_ERR_NOMEM, path, "/", "cannot open");
    }
    gm_status status = gm_image_open(path, false, fapl, file, err);
    H5Pclose(fapl);
    return status;
}

gm_status gm_h5_check_name(const char *file, const char *what, const char *name,
                           gm_error *err) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > GM_H5_NAME_MAX || strchr(name, '/') ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s name '%s' cannot name an HDF5 object "
                            "(1..%d characters, no '/')",
                            file, what, name ? name : "(null)", GM_H5_NAME_MAX);
    return GM_OK;
}

hid_t gm_h5_group_create(hid_t loc, const char *name) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0) return gcpl;
    H5Pset_link_creation_order(gcpl,
                               H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

bool gm_h5_exists(hid_t loc, const char *name) {
    /* H5Lexists needs every intermediate link to exist: check each. */
    char buf[GM_H5_OBJ_MAX];
    if (snprintf(buf, sizeof buf, "%s", name) >= (int)sizeof buf) return false;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        bool ok = H5Lexists(loc, buf, H5P_DEFAULT) > 0;
        *p = '/';
        if (!ok) return false;
    }
    return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

static herr_t attr_write(hid_t obj, const char *name, hid_t type, hid_t space,
                         const void *buf) {
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) return -1;
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return -1;
    herr_t rc = H5Awrite(a, type, buf);
    H5Aclose(a);
    return rc;
}

static herr_t attr_scalar(hid_t obj, const char *name, hid_t type,
                          const void *buf) {
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) return -1;
    herr_t rc = attr_write(obj, name, type, space, buf);
    H5Sclose(space);
    return rc;
}

/* A string type of `size` bytes (or H5T_VARIABLE) in `cset`. */
static hid_t str_type(size_t size, H5T_cset_t cset) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, size) < 0 || H5Tset_cset(t, cset) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

hid_t gm_h5_vlen_str_type(void) {
    return str_type(H5T_VARIABLE, H5T_CSET_UTF8);
}

herr_t gm_h5_attr_str(hid_t obj, const char *name, const char *value) {
    hid_t t = gm_h5_vlen_str_type();
    if (t < 0) return -1;
    const char *v = value ? value : "";
    herr_t rc = attr_scalar(obj, name, t, &v);
    H5Tclose(t);
    return rc;
}

herr_t gm_h5_attr_double(hid_t obj, const char *name, double value) {
    return attr_scalar(obj, name, H5T_NATIVE_DOUBLE, &value);
}

herr_t gm_h5_attr_i64(hid_t obj, const char *name, int64_t value) {
    return attr_scalar(obj, name, H5T_NATIVE_INT64, &value);
}

herr_t gm_h5_attr_u64(hid_t obj, const char *name, uint64_t value) {
    return attr_scalar(obj, name, H5T_NATIVE_UINT64, &value);
}

herr_t gm_h5_attr_strs(hid_t obj, const char *name, char *const *values,
                       int n) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t t = gm_h5_vlen_str_type();
    herr_t rc = -1;
    if (space >= 0 && t >= 0) {
        /* HDF5 does not accept a NULL buffer, even for zero strings. */
        const char *none = "";
        rc = attr_write(obj, name, t, space,
                        n > 0 ? (const void *)values : (const void *)&none);
    }
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    return rc;
}

/* Reads n strings of the attribute's string type into malloc'd copies;
 * HDF5 does not convert between character sets, so read in the file's. */
static bool read_strings(hid_t a, hid_t ftype, char **out, size_t n) {
    bool ok = false;
    H5T_cset_t cset = H5Tget_cset(ftype);
    if (H5Tis_variable_str(ftype) > 0) {
        hid_t t = str_type(H5T_VARIABLE, cset);
        char **raw = calloc(n ? n : 1, sizeof *raw);
        if (t >= 0 && raw && H5Aread(a, t, raw) >= 0) {
            ok = true;
            for (size_t i = 0; i < n; i++) {
                out[i] = strdup(raw[i] ? raw[i] : "");
                ok = ok && out[i];
                H5free_memory(raw[i]);
            }
        }
        free(raw);
        if (t >= 0) H5Tclose(t);
        return ok;
    }
    size_t len = H5Tget_size(ftype);
    hid_t t = str_type(len, cset);
    char *raw = malloc(len * (n ? n : 1));
    if (t >= 0 && raw && H5Aread(a, t, raw) >= 0) {
        ok = true;
        for (size_t i = 0; i < n; i++) {
            out[i] = strndup(raw + i * len, len);
            ok = ok && out[i];
        }
    }
    free(raw);
    if (t >= 0) H5Tclose(t);
    return ok;
}

int gm_h5_attr_read_strs(hid_t obj, const char *name, char ***out) {
    *out = NULL;
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ftype = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    int n = -1;
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (ftype >= 0 && np >= 0 && H5Tget_class(ftype) == H5T_STRING) {
        char **s = calloc(np ? (size_t)np : 1, sizeof *s);
        if (s && read_strings(a, ftype, s, (size_t)np)) {
            *out = s;
            n = (int)np;
        } else if (s) {
            gm_h5_names_free(s, (int)np);
        }
    }
    if (space >= 0) H5Sclose(space);
    if (ftype >= 0) H5Tclose(ftype);
    H5Aclose(a);
    return n;
}

char *gm_h5_attr_read_str(hid_t obj, const char *name) {
    char **all;
    int n = gm_h5_attr_read_strs(obj, name, &all);
    char *s = NULL;
    if (n == 1) {
        s = all[0];
        all[0] = NULL;
    }
    gm_h5_names_free(all, n);
    return s;
}

static bool attr_read_scalar(hid_t obj, const char *name, hid_t memtype,
                             void *out) {
    if (H5Aexists(obj, name) <= 0) return false;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return false;
    hid_t space = H5Aget_space(a);
    bool ok = space >= 0 && H5Sget_simple_extent_npoints(space) == 1 &&
              H5Aread(a, memtype, out) >= 0;
    if (space >= 0) H5Sclose(space);
    H5Aclose(a);
    return ok;
}

bool gm_h5_attr_read_double(hid_t obj, const char *name, double *out) {
    return attr_read_scalar(obj, name, H5T_NATIVE_DOUBLE, out);
}

bool gm_h5_attr_read_i64(hid_t obj, const char *name, int64_t *out) {
    return attr_read_scalar(obj, name, H5T_NATIVE_INT64, out);
}

bool gm_h5_attr_read_u64(hid_t obj, const char *name, uint64_t *out) {
    return attr_read_scalar(obj, name, H5T_NATIVE_UINT64, out);
}

static H5_index_t group_index(hid_t group) {
    unsigned flags = 0;
    hid_t gcpl = H5Gget_create_plist(group);
    if (gcpl >= 0) {
        H5Pget_link_creation_order(gcpl, &flags);
        H5Pclose(gcpl);
    }
    return (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
}

int gm_h5_list(hid_t group, char ***names) {
    *names = NULL;
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) return -1;
    H5_index_t index = group_index(group);
    char **out = calloc(info.nlinks ? info.nlinks : 1, sizeof *out);
    if (!out) return -1;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i,
                                         NULL, 0, H5P_DEFAULT);
        if (len >= 0) out[i] = malloc((size_t)len + 1);
        if (len < 0 || !out[i] ||
            H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, out[i],
                               (size_t)len + 1, H5P_DEFAULT) < 0) {
            gm_h5_names_free(out, (int)info.nlinks);
            return -1;
        }
    }
    *names = out;
    return (int)info.nlinks;
}

void gm_h5_names_free(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

H5I_type_t gm_h5_kind(hid_t loc, const char *name) {
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) return H5I_BADID;
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t;
}

void gm_h5_join(char *buf, const char *parent, const char *name) {
    snprintf(buf, GM_H5_OBJ_MAX, "%s/%s", parent, name);
}

char *gm_h5_strdup(const char *s) { return s ? strdup(s) : NULL; }
