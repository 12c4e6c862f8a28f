/* Small HDF5 helpers shared by the run-file sources (internal).
 *
 * Every public run-file function silences HDF5's automatic error printing
 * for its duration (gm_h5_quiet_begin/end) and turns a failed HDF5 call
 * into a gm_error naming the file path and the object path, with HDF5's
 * own most specific message appended. gm_h5_fail must be called right
 * after the failing HDF5 call: any later call clears HDF5's error stack. */
#ifndef GM_RUNFILE_H5UTIL_H
#define GM_RUNFILE_H5UTIL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "gm/status.h"

/* Longest object path built from user names (model, metric, view...). */
#define GM_H5_OBJ_MAX 2048
/* Longest single name (model, metric, group, view) the run file accepts. */
#define GM_H5_NAME_MAX 255

typedef struct gm_h5_quiet {
    H5E_auto2_t func;
    void *data;
} gm_h5_quiet;

/* Turns HDF5's automatic error printing off; returns what to restore.
 * The end empties the calling thread's HDF5 error stack, then restores. */
gm_h5_quiet gm_h5_quiet_begin(void);
void gm_h5_quiet_end(gm_h5_quiet q);

/* Sets err to "<file>: <object>: <message> (HDF5: <detail>)" and returns
 * status; the detail is the innermost message on HDF5's error stack. */
gm_status gm_h5_fail(gm_error *err, gm_status status, const char *file,
                     const char *object, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The file access properties every run file is opened with. */
hid_t gm_h5_fapl(void);

/* Opens an existing run file read-only; a missing file, a non-HDF5 file or
 * a corrupt one gives a clear error naming the path. HDF5 reads a checked
 * copy in memory (gm_image_open). */
gm_status gm_h5_open_read(const char *path, hid_t *file, gm_error *err);

/* The checked image (image.c). A published run file starts with an HDF5
 * user block of GM_IMAGE_HEADER bytes: gm's magic, the file's length and
 * the CRC-32 of the rest. */
#define GM_IMAGE_HEADER 512

/* Writes the header into the first GM_IMAGE_HEADER bytes of the `size`
 * bytes of a file whose HDF5 image follows them. */
void gm_image_seal(unsigned char *file, size_t size);

/* Reads the file at `path` whole, checks its header (a file from before
 * the header, starting with HDF5's signature, is taken unchecked) and opens
 * the checked copy in memory with `fapl` (given the core driver and the
 * image here; the caller closes it). A missing, non-regular, short,
 * changed or non-HDF5 file is an error naming `path`. */
gm_status gm_image_open(const char *path, bool writable, hid_t fapl,
                        hid_t *file, gm_error *err);

/* Checks that `name` can be one HDF5 link name: 1..GM_H5_NAME_MAX bytes,
 * no '/', not "." or "..". `what` names it in the message ("model"). */
gm_status gm_h5_check_name(const char *file, const char *what, const char *name,
                           gm_error *err);

/* A new group that remembers the order its links were created in. */
hid_t gm_h5_group_create(hid_t loc, const char *name);

/* True if `name` (a path relative to loc) exists; false on any error. */
bool gm_h5_exists(hid_t loc, const char *name);

/* The variable-length UTF-8 string type gm writes (h5py reads it as str);
 * the caller closes it. */
hid_t gm_h5_vlen_str_type(void);

/* Writes (replacing any existing) a scalar attribute. */
herr_t gm_h5_attr_str(hid_t obj, const char *name, const char *value);
herr_t gm_h5_attr_double(hid_t obj, const char *name, double value);
herr_t gm_h5_attr_i64(hid_t obj, const char *name, int64_t value);
herr_t gm_h5_attr_u64(hid_t obj, const char *name, uint64_t value);
/* A 1-D attribute of n variable-length UTF-8 strings. */
herr_t gm_h5_attr_strs(hid_t obj, const char *name, char *const *values, int n);

/* Reads a string attribute (variable or fixed length) into a malloc'd
 * copy; NULL if it is missing or not a string. */
char *gm_h5_attr_read_str(hid_t obj, const char *name);
/* Reads a numeric scalar attribute, converting it; false if missing. */
bool gm_h5_attr_read_double(hid_t obj, const char *name, double *out);
bool gm_h5_attr_read_i64(hid_t obj, const char *name, int64_t *out);
bool gm_h5_attr_read_u64(hid_t obj, const char *name, uint64_t *out);
/* Reads a 1-D string-array attribute into malloc'd copies; -1 on error. */
int gm_h5_attr_read_strs(hid_t obj, const char *name, char ***out);

/* The names of a group's links, in creation order when the group tracks
 * it (else in name order), as malloc'd strings; returns the count or -1. */
int gm_h5_list(hid_t group, char ***names);
void gm_h5_names_free(char **names, int n);

/* The object type of a link under loc (H5I_GROUP, H5I_DATASET, ...), or
 * H5I_BADID if it cannot be opened. */
H5I_type_t gm_h5_kind(hid_t loc, const char *name);

/* Writes "<parent>/<name>" into buf (GM_H5_OBJ_MAX bytes), truncating. */
void gm_h5_join(char *buf, const char *parent, const char *name);

/* strdup that returns NULL for NULL. */
char *gm_h5_strdup(const char *s);

#endif
