/* A 2-D float or double dataset inside an HDF5 file, read as float rows.
 *
 * HDF5's own error printing is switched off while reading (and restored
 * after, its error stack emptied): failures come back as one gm_error
 * naming the file and key. */
#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"
#include "runfile/h5util.h"

/* The open HDF5 objects, closed together whatever happened. */
typedef struct h5_handles {
    hid_t file, dset, space, type;
} h5_handles;

static void close_all(h5_handles *h) {
    if (h->type >= 0) H5Tclose(h->type);
    if (h->space >= 0) H5Sclose(h->space);
    if (h->dset >= 0) H5Dclose(h->dset);
    if (h->file >= 0) H5Fclose(h->file);
}

static gm_status read_array(gm_dataset *d, const char *path, const char *key,
                            h5_handles *h, gm_error *err) {
    if (access(path, F_OK) != 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "%s: cannot open HDF5 file: %s", path,
                            strerror(errno));
    if ((h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return gm_error_set(err, GM_ERR_IO,
                            "%s: cannot open: not an HDF5 file, or unreadable",
                            path);
    if ((h->dset = H5Dopen2(h->file, key, H5P_DEFAULT)) < 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "%s: no dataset \"%s\" in this file", path, key);
    h->space = H5Dget_space(h->dset);
    h->type = H5Dget_type(h->dset);
    if (h->space < 0 || h->type < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: %s: cannot read its shape",
                            path, key);
    int rank = H5Sget_simple_extent_ndims(h->space);
    if (rank != 2)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: %s: expected a 2-D dataset [rows, dim], got "
                            "%d dimensions",
                            path, key, rank);
    if (H5Tget_class(h->type) != H5T_FLOAT)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: %s: expected float or double values", path,
                            key);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(h->space, dims, NULL);
    if (dims[0] < 1 || dims[1] < 1 || dims[1] > INT_MAX ||
        dims[0] > SIZE_MAX / sizeof(float) / dims[1])
        return gm_error_set(
            err, GM_ERR_SHAPE, "%s: %s: unusable shape [%llu, %llu]", path, key,
            (unsigned long long)dims[0], (unsigned long long)dims[1]);
    d->rows = (size_t)dims[0];
    d->dim = (int)dims[1];
    size_t count = d->rows * (size_t)d->dim;
    if (!(d->data = malloc(count * sizeof *d->data)))
        return gm_error_set(err, GM_ERR_NOMEM,
                            "%s: %s: out of memory for %zu values", path, key,
                            count);
    /* HDF5 converts double (or any float type) to native float. */
    if (H5Dread(h->dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                d->data) < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: %s: cannot read the values",
                            path, key);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(d->data[i]))
            return gm_error_set(err, GM_ERR_NUMERIC,
                                "%s: %s: value %zu (row %zu) is not finite "
                                "in float",
                                path, key, i, i / (size_t)d->dim);
    return GM_OK;
}

gm_status gm_data_hdf5_load(gm_dataset *d, const gm_dataset_spec *spec,
                            gm_rng *stream, gm_error *err) {
    if (!spec->path[0])
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.path: hdf5 needs the path of an HDF5 "
                            "file");
    if (!spec->key[0])
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.key: hdf5 needs the name of a dataset "
                            "inside %s",
                            spec->path);
    gm_h5_quiet quiet = gm_h5_quiet_begin();
    h5_handles h = {-1, -1, -1, -1};
    gm_status st = read_array(d, spec->path, spec->key, &h, err);
    close_all(&h);
    gm_h5_quiet_end(quiet);
    return st;
}
