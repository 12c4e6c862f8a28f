/* IDX files (LeCun's MNIST format), plain or gzip, read through zlib.
 *
 * Layout: a magic of two zero bytes, a type code and the number of
 * dimensions; each dimension as a big-endian uint32; then the values,
 * big-endian, in row-major order. gzread reads plain files as they are, so
 * one path serves both. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

/* Bytes read per gzread call: a multiple of every element size. */
enum { CHUNK_BYTES = 1 << 16 };

static int type_size(int code) {
    switch (code) {
    case 0x08:           /* unsigned byte */
    case 0x09: return 1; /* signed byte */
    case 0x0B: return 2; /* int16 */
    case 0x0C:           /* int32 */
    case 0x0D: return 4; /* float32 */
    case 0x0E: return 8; /* float64 */
    default: return 0;
    }
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* One big-endian value of a multi-byte or signed type. */
static float decode(const unsigned char *p, int code) {
    switch (code) {
    case 0x09: return (float)(int8_t)p[0];
    case 0x0B: return (float)(int16_t)(uint16_t)(p[0] << 8 | p[1]);
    case 0x0C: return (float)(int32_t)be32(p);
    case 0x0D: {
        uint32_t u = be32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default: { /* 0x0E */
        uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
        double v;
        memcpy(&v, &u, sizeof v);
        return (float)v;
    }
    }
}

/* Converts n values of IDX type `code` at `in` to floats; unsigned bytes
 * (the common case, kept a plain loop) are divided by 255 if scale_ubyte. */
static void convert(const unsigned char *in, size_t n, int code,
                    bool scale_ubyte, float *out) {
    if (code == 0x08) {
        float div = scale_ubyte ? 255.0f : 1.0f;
        for (size_t j = 0; j < n; j++)
            out[j] = in[j] / div;
        return;
    }
    int es = type_size(code);
    for (size_t j = 0; j < n; j++)
        out[j] = decode(in + j * es, code);
}

/* Index of the first NaN or infinity in v[0..n), or n. */
static size_t first_non_finite(const float *v, size_t n) {
    size_t i = 0;
    while (i < n && isfinite(v[i]))
        i++;
    return i;
}

/* Reads exactly n bytes; a short read is a truncated (or corrupt) file. */
static gm_status read_exact(gzFile f, void *buf, unsigned n, const char *path,
                            const char *where, gm_error *err) {
    int got = gzread(f, buf, n);
    if (got == (int)n) return GM_OK;
    int errnum = Z_OK;
    const char *msg = gzerror(f, &errnum);
    if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR))
        return gm_error_set(err, GM_ERR_IO, "%s: cannot read the IDX %s: %s",
                            path, where,
                            errnum == Z_ERRNO ? strerror(errno) : msg);
    return gm_error_set(err, GM_ERR_IO,
                        "%s: truncated IDX file: it ends in the %s", path,
                        where);
}

/* Reads the magic and the dimensions into out (values still NULL). */
static gm_status read_header(gzFile f, const char *path, gm_idx_array *out,
                             gm_error *err) {
    unsigned char head[4];
    gm_status st = read_exact(f, head, sizeof head, path, "header", err);
    if (st != GM_OK) return st;
    if (head[0] != 0 || head[1] != 0 || type_size(head[2]) == 0)
        return gm_error_set(err, GM_ERR_IO,
                            "%s: not an IDX file: bad magic 0x%02x%02x%02x%02x "
                            "(expected 0x000008nn..0x00000Enn)",
                            path, head[0], head[1], head[2], head[3]);
    out->type = head[2];
    out->ndim = head[3];
    if (out->ndim < 1 || out->ndim > GM_IDX_MAX_DIMS)
        return gm_error_set(err, GM_ERR_IO,
                            "%s: IDX file with %d dimensions (gm reads 1..%d)",
                            path, out->ndim, GM_IDX_MAX_DIMS);
    unsigned char dims[4 * GM_IDX_MAX_DIMS];
    st = read_exact(f, dims, 4u * (unsigned)out->ndim, path, "dimensions", err);
    if (st != GM_OK) return st;
    uint64_t cols = 1;
    for (int i = 0; i < out->ndim; i++) {
        out->dims[i] = be32(dims + 4 * i);
        if (out->dims[i] == 0)
            return gm_error_set(err, GM_ERR_IO,
                                "%s: IDX dimension %d is 0 (no data)", path, i);
        if (i > 0 && (cols *= out->dims[i]) > INT_MAX)
            return gm_error_set(err, GM_ERR_IO,
                                "%s: IDX rows of more than %d values are not "
                                "supported",
                                path, INT_MAX);
    }
    out->rows = out->dims[0];
    out->cols = (int)cols;
    return GM_OK;
}

/* Reads and converts the values the header declares, then checks that
 * nothing follows them. */
static gm_status read_values(gzFile f, const char *path, bool scale_ubyte,
                             gm_idx_array *out, gm_error *err) {
    size_t count = out->rows * (size_t)out->cols;
    int es = type_size(out->type);
    bool is_float = out->type == 0x0D || out->type == 0x0E;
    if (count > SIZE_MAX / sizeof *out->values)
        return gm_error_set(err, GM_ERR_IO,
                            "%s: IDX header declares too many values", path);
    out->values = malloc(count * sizeof *out->values);
    unsigned char *chunk = malloc(CHUNK_BYTES);
    gm_status st = GM_OK;
    if (!out->values || !chunk) {
        st = gm_error_set(err, GM_ERR_NOMEM,
                          "%s: out of memory for %zu IDX values", path, count);
        goto done;
    }
    size_t per_chunk = CHUNK_BYTES / (size_t)es;
    for (size_t i = 0; i < count; i += per_chunk) {
        size_t n = count - i < per_chunk ? count - i : per_chunk;
        char where[96];
        snprintf(where, sizeof where, "values (after %zu of %zu)", i, count);
        st = read_exact(f, chunk, (unsigned)(n * es), path, where, err);
        if (st != GM_OK) goto done;
        convert(chunk, n, out->type, scale_ubyte, out->values + i);
    }
    size_t bad = is_float ? first_non_finite(out->values, count) : count;
    if (bad < count) {
        st = gm_error_set(err, GM_ERR_NUMERIC,
                          "%s: IDX value %zu (row %zu) is not finite in float",
                          path, bad, bad / (size_t)out->cols);
        goto done;
    }
    /* zlib reports a gzip stream cut short (even in its trailer) as
     * Z_BUF_ERROR with a read of 0, not as a failed read. */
    int errnum = Z_OK;
    if (gzread(f, chunk, 1) != 0)
        st = gm_error_set(err, GM_ERR_IO,
                          "%s: malformed IDX file: data continues after the "
                          "%zu values its header declares",
                          path, count);
    else if (gzerror(f, &errnum), errnum != Z_OK)
        st = gm_error_set(err, GM_ERR_IO,
                          "%s: truncated or corrupt gzip stream: %s", path,
                          gzerror(f, &errnum));
done:
    free(chunk);
    return st;
}

gm_status gm_data_idx_read(const char *path, bool scale_ubyte,
                           gm_idx_array *out, gm_error *err) {
    memset(out, 0, sizeof *out);
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return gm_error_set(err, errno == ENOENT ? GM_ERR_NOT_FOUND : GM_ERR_IO,
                            "%s: cannot open IDX file: %s", path,
                            errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 17);
    gm_status st = read_header(f, path, out, err);
    if (st == GM_OK) st = read_values(f, path, scale_ubyte, out, err);
    gzclose(f);
    if (st != GM_OK) {
        free(out->values);
        out->values = NULL;
    }
    return st;
}

gm_status gm_data_idx_load(gm_dataset *d, const gm_dataset_spec *spec,
                           gm_rng *stream, gm_error *err) {
    if (!spec->path[0])
        return gm_error_set(err, GM_ERR_INVALID,
                            "dataset.path: idx needs the path of an IDX file");
    gm_idx_array train;
    gm_status st = gm_data_idx_read(spec->path, true, &train, err);
    if (st != GM_OK) return st;
    d->data = train.values;
    d->rows = train.rows;
    d->dim = train.cols;
    if (train.ndim == 3) { /* [n, H, W]: grey images */
        d->shape[0] = 1;
        d->shape[1] = (int)train.dims[1];
        d->shape[2] = (int)train.dims[2];
    }
    if (!spec->test_path[0]) return GM_OK;
    gm_idx_array test;
    st = gm_data_idx_read(spec->test_path, true, &test, err);
    if (st != GM_OK) return st;
    d->test_data = test.values;
    d->test_rows = test.rows;
    if (test.cols != train.cols)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: test rows have %d values but the train rows "
                            "of %s have %d",
                            spec->test_path, test.cols, spec->path, train.cols);
    return GM_OK;
}
