/* Datasets and batching: the mixtures' samples and exact density, IDX and
 * HDF5 files the tests write themselves (well-formed and broken),
 * Fashion-MNIST, and the batcher's per-epoch shuffles. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_counter.h"
#include "gm/data.h"

/* ---- helpers: files ------------------------------------------------- */

/* A fresh directory under the working (build) directory. */
static void make_tmpdir(char *dir, size_t n) {
    snprintf(dir, n, "data_test_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* Removes the files in dir (the tests make no subdirectories), then dir. */
static void remove_tmpdir(const char *dir) {
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp);
    struct dirent *e;
    char path[1024];
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            cr_assert_eq(unlink(path), 0, "cannot remove %s", path);
        }
    closedir(dp);
    cr_assert_eq(rmdir(dir), 0);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void put_be32(unsigned char *p, uint32_t u) {
    p[0] = (unsigned char)(u >> 24);
    p[1] = (unsigned char)(u >> 16);
    p[2] = (unsigned char)(u >> 8);
    p[3] = (unsigned char)u;
}

/* An IDX image in memory: magic, big-endian dims, then `payload` (already
 * big-endian). *len receives its size; the caller frees it. */
static unsigned char *idx_bytes(int type, int ndim, const uint32_t *dims,
                                const void *payload, size_t payload_len,
                                size_t *len) {
    *len = 4 + 4 * (size_t)ndim + payload_len;
    unsigned char *b = malloc(*len);
    b[0] = b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        put_be32(b + 4 + 4 * i, dims[i]);
    memcpy(b + 4 + 4 * ndim, payload, payload_len);
    return b;
}

/* CRC-32 (IEEE), bit by bit: the gzip trailer's checksum. */
static uint32_t crc32_ieee(const unsigned char *b, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
    }
    return ~c;
}

/* A gzip member of `in` in stored (uncompressed) deflate blocks, written
 * by hand so that the test does not use the zlib it checks. */
static unsigned char *gzip_bytes(const unsigned char *in, size_t n,
                                 size_t *len) {
    size_t blocks = n / 65535 + 1;
    unsigned char *b = malloc(10 + 5 * blocks + n + 8), *p = b;
    const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    memcpy(p, head, 10);
    p += 10;
    for (size_t i = 0; i < blocks; i++) {
        size_t m = i + 1 < blocks ? 65535 : n - i * 65535;
        *p++ = i + 1 == blocks; /* BFINAL, BTYPE = 00 (stored) */
        p[0] = (unsigned char)m, p[1] = (unsigned char)(m >> 8);
        p[2] = (unsigned char)~m, p[3] = (unsigned char)(~m >> 8);
        memcpy(p + 4, in + i * 65535, m);
        p += 4 + m;
    }
    uint32_t crc = crc32_ieee(in, n), size = (uint32_t)n;
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(crc >> 8 * k);
    for (int k = 0; k < 4; k++)
        p[4 + k] = (unsigned char)(size >> 8 * k);
    *len = (size_t)(p + 8 - b);
    return b;
}

/* Writes an IDX file at path, gzipped when `gz`. */
static void write_idx(const char *path, bool gz, int type, int ndim,
                      const uint32_t *dims, const void *payload,
                      size_t payload_len) {
    size_t len;
    unsigned char *b = idx_bytes(type, ndim, dims, payload, payload_len, &len);
    if (gz) {
        size_t zlen;
        unsigned char *z = gzip_bytes(b, len, &zlen);
        write_bytes(path, z, zlen);
        free(z);
    } else {
        write_bytes(path, b, len);
    }
    free(b);
}

static gm_dataset_spec file_spec(const char *name, const char *path) {
    gm_dataset_spec s = {0};
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.path, sizeof s.path, "%s", path);
    return s;
}

/* Creates the file-based dataset `spec`, asserting that it works. */
static gm_dataset *load(const gm_dataset_spec *spec) {
    gm_error err = {0};
    gm_dataset *d = gm_dataset_create(spec, NULL, &err);
    cr_assert_not_null(d, "%s", err.message);
    return d;
}

/* Asserts that creating `spec` fails with `status` and a message holding
 * every one of the NULL-terminated `needles`. */
static void expect_error(const gm_dataset_spec *spec, gm_rng *stream,
                         gm_status status, const char *const *needles) {
    gm_error err = {0};
    gm_dataset *d = gm_dataset_create(spec, stream, &err);
    cr_assert_null(d, "dataset %s unexpectedly created", spec->name);
    cr_assert_eq(err.status, status, "status %s, message: %s",
                 gm_status_name(err.status), err.message);
    for (const char *const *s = needles; *s; s++)
        cr_assert_not_null(strstr(err.message, *s), "\"%s\" not in: %s", *s,
                           err.message);
}

/* ---- mixtures ------------------------------------------------------- */

static gm_dataset_spec ring_spec(int modes, double radius, double std,
                                 long size) {
    return (gm_dataset_spec){.name = "ring",
                             .modes = modes,
                             .radius = radius,
                             .std = std,
                             .size = size};
}

static gm_dataset_spec grid_spec(int side, double spacing, double std,
                                 long size) {
    return (gm_dataset_spec){.name = "grid",
                             .side = side,
                             .spacing = spacing,
                             .std = std,
                             .size = size};
}

static gm_dataset *make(const gm_dataset_spec *s, uint64_t seed) {
    gm_rng r = gm_rng_stream(seed, "data");
    gm_error err = {0};
    gm_dataset *d = gm_dataset_create(s, &r, &err);
    cr_assert_not_null(d, "%s", err.message);
    return d;
}

Test(mixture, ring_centres_on_the_circle) {
    gm_dataset_spec s = ring_spec(8, 2.0, 0.02, 10);
    gm_dataset *d = make(&s, 1);
    cr_assert_str_eq(gm_dataset_name(d), "ring");
    cr_assert_eq(gm_dataset_modes(d), 8);
    cr_assert_eq(gm_dataset_dim(d), 2);
    cr_assert_eq(gm_dataset_std(d), 0.02);
    cr_assert(gm_dataset_has_density(d));
    const float *c = gm_dataset_centers(d);
    for (int k = 0; k < 8; k++) {
        double a = 2.0 * M_PI * k / 8;
        cr_assert_float_eq(hypot(c[2 * k], c[2 * k + 1]), 2.0, 1e-6);
        cr_assert_float_eq(c[2 * k], 2.0 * cos(a), 1e-6, "centre %d", k);
        cr_assert_float_eq(c[2 * k + 1], 2.0 * sin(a), 1e-6, "centre %d", k);
    }
    gm_dataset_free(d);
}

Test(mixture, grid_centres_are_pacgans_grid) {
    gm_dataset_spec s = grid_spec(5, 2.0, 0.05, 10);
    gm_dataset *d = make(&s, 1);
    cr_assert_eq(gm_dataset_modes(d), 25);
    const float *c = gm_dataset_centers(d);
    int seen[5][5] = {{0}};
    for (int k = 0; k < 25; k++) {
        float x = c[2 * k], y = c[2 * k + 1];
        int i = (int)lrintf(x / 2 + 2), j = (int)lrintf(y / 2 + 2);
        cr_assert(i >= 0 && i < 5 && j >= 0 && j < 5, "centre (%g, %g)", x, y);
        cr_assert(x == 2.0f * i - 4.0f && y == 2.0f * j - 4.0f,
                  "centre (%g, %g) not on {-4,-2,0,2,4}^2", x, y);
        seen[i][j]++;
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            cr_assert_eq(seen[i][j], 1);
    gm_dataset_free(d);
}

/* The sample statistics every equal-weight isotropic mixture must show. */
static void check_mixture_samples(const gm_dataset *d, double std) {
    int K = gm_dataset_modes(d);
    size_t n = gm_dataset_rows(d);
    const float *x = gm_dataset_data(d), *c = gm_dataset_centers(d);
    const int *lab = gm_dataset_labels(d);
    cr_assert_not_null(lab);
    double *sum = calloc(2 * (size_t)K, sizeof *sum);
    double *sq = calloc(2 * (size_t)K, sizeof *sq);
    long *count = calloc((size_t)K, sizeof *count);
    double max_dist = 0;
    for (size_t i = 0; i < n; i++) {
        /* nearest centre, by brute force */
        int best = -1;
        double best_d = INFINITY;
        for (int k = 0; k < K; k++) {
            double dd = hypot(x[2 * i] - c[2 * k], x[2 * i + 1] - c[2 * k + 1]);
            if (dd < best_d) best_d = dd, best = k;
        }
        cr_assert_lt(best_d, 5 * std, "sample %zu is %g from its centre", i,
                     best_d);
        cr_assert_eq(lab[i], best, "sample %zu labelled %d, nearest %d", i,
                     lab[i], best);
        double got_d;
        cr_assert_eq(gm_dataset_nearest_mode(d, x + 2 * i, &got_d), best);
        cr_assert_float_eq(got_d, best_d, 1e-9);
        if (best_d > max_dist) max_dist = best_d;
        count[best]++;
        for (int j = 0; j < 2; j++) {
            double dev = x[2 * i + j] - c[2 * best + j];
            sum[2 * best + j] += dev;
            sq[2 * best + j] += dev * dev;
        }
    }
    cr_assert_gt(max_dist, 3 * std, "noise is too small: max %g", max_dist);
    double p = 1.0 / K;
    for (int k = 0; k < K; k++) {
        double nk = (double)count[k];
        cr_assert_float_eq(nk / n, p, 4 * sqrt(p * (1 - p) / n),
                           "mode %d: frequency %g", k, nk / n);
        for (int j = 0; j < 2; j++) {
            double mean = sum[2 * k + j] / nk;
            double sd = sqrt(sq[2 * k + j] / nk - mean * mean);
            /* within 4 standard errors: std / sqrt(n_k) for the mean,
             * std / sqrt(2 n_k) for the sample std */
            cr_assert_float_eq(mean, 0.0, 4 * std / sqrt(nk),
                               "mode %d: mean offset %g", k, mean);
            cr_assert_float_eq(sd, std, 4 * std / sqrt(2 * nk),
                               "mode %d: std %g", k, sd);
        }
    }
    free(sum);
    free(sq);
    free(count);
}

/* gm_dataset_shape gives ndim and [c, h, w] (h, w 0 for flat rows). */
static void assert_row_shape(const gm_dataset *d, int ndim, int c, int h,
                             int w) {
    int shape[3];
    cr_assert_eq(gm_dataset_shape(d, shape), ndim);
    cr_assert(shape[0] == c && shape[1] == h && shape[2] == w,
              "shape [%d, %d, %d], want [%d, %d, %d]", shape[0], shape[1],
              shape[2], c, h, w);
}

Test(mixture, ring_sample_statistics) {
    gm_dataset_spec s = ring_spec(8, 2.0, 0.05, 20000);
    gm_dataset *d = make(&s, 7);
    cr_assert_eq(gm_dataset_rows(d), 20000u);
    cr_assert_eq(gm_dataset_test_rows(d), 0u);
    cr_assert_null(gm_dataset_test_data(d));
    assert_row_shape(d, 1, 2, 0, 0);
    check_mixture_samples(d, 0.05);
    gm_dataset_free(d);
}

Test(mixture, grid_sample_statistics) {
    gm_dataset_spec s = grid_spec(5, 2.0, 0.1, 25000);
    gm_dataset *d = make(&s, 8);
    check_mixture_samples(d, 0.1);
    gm_dataset_free(d);
}

Test(mixture, same_stream_same_data) {
    gm_dataset_spec s = ring_spec(8, 2.0, 0.02, 1000);
    gm_rng r1 = gm_rng_stream(5, "data"), r2 = gm_rng_stream(5, "data");
    gm_rng r3 = gm_rng_stream(6, "data");
    gm_dataset *a = gm_dataset_create(&s, &r1, NULL);
    gm_dataset *b = gm_dataset_create(&s, &r2, NULL);
    gm_dataset *c = gm_dataset_create(&s, &r3, NULL);
    cr_assert(a && b && c);
    const float *xa = gm_dataset_data(a), *xb = gm_dataset_data(b);
    const size_t bytes = 2000 * sizeof *xa;
    cr_assert_eq(memcmp(xa, xb, bytes), 0);
    cr_assert_neq(memcmp(xa, gm_dataset_data(c), bytes), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(gm_dataset_labels(a)[i], gm_dataset_labels(b)[i]);
    /* the stream was advanced: both copies equally */
    cr_assert_eq(gm_rng_u64(&r1), gm_rng_u64(&r2));
    gm_rng fresh = gm_rng_stream(5, "data");
    cr_assert_neq(gm_rng_u64(&r1), gm_rng_u64(&fresh));
    gm_dataset_free(a);
    gm_dataset_free(b);
    gm_dataset_free(c);
}

/* log p(x) straight from the definition, in double. */
static double direct_log_density(const gm_dataset *d, const double *x) {
    int K = gm_dataset_modes(d);
    double s = gm_dataset_std(d), p = 0;
    const float *c = gm_dataset_centers(d);
    for (int k = 0; k < K; k++) {
        double dx = x[0] - c[2 * k], dy = x[1] - c[2 * k + 1];
        p += exp(-(dx * dx + dy * dy) / (2 * s * s)) / (2 * M_PI * s * s) / K;
    }
    return log(p);
}

Test(mixture, log_density_matches_the_direct_formula) {
    gm_dataset_spec s = ring_spec(8, 2.0, 0.5, 10);
    gm_dataset *d = make(&s, 3);
    gm_rng r = gm_rng_stream(3, "points");
    for (int i = 0; i < 300; i++) {
        float x[2] = {(float)(6 * gm_rng_uniform(&r) - 3),
                      (float)(6 * gm_rng_uniform(&r) - 3)};
        double xd[2] = {x[0], x[1]};
        double want = direct_log_density(d, xd);
        cr_assert_float_eq(gm_dataset_log_density(d, x), want,
                           1e-10 * (1 + fabs(want)), "at (%g, %g)", x[0], x[1]);
    }
    gm_dataset_free(d);
}

Test(mixture, log_density_is_stable_far_from_the_modes) {
    /* 2x2 grid, centres (+-0.5, +-0.5), std 0.01: at (0, 0.5) two modes
     * are 0.5 = 50 std away and the direct formula underflows to -inf. */
    gm_dataset_spec s = grid_spec(2, 1.0, 0.01, 10);
    gm_dataset *d = make(&s, 3);
    float x[2] = {0.0f, 0.5f};
    double xd[2] = {0.0, 0.5};
    cr_assert(isinf(direct_log_density(d, xd)), "direct formula underflows");
    double var = 1e-4;
    double want = -0.25 / (2 * var) + log(2.0) - log(4.0) - log(2 * M_PI * var);
    cr_assert_float_eq(gm_dataset_log_density(d, x), want, 1e-9 * fabs(want));
    /* and very far away: one term dominates */
    float far[2] = {50.0f, 50.0f};
    double dx = 49.5, sq = 2 * dx * dx;
    want = -sq / (2 * var) - log(4.0) - log(2 * M_PI * var);
    cr_assert_float_eq(gm_dataset_log_density(d, far), want, 1e-9 * fabs(want));
    gm_dataset_free(d);
}

/* Midpoint rule of exp(log p) over [-half, half]^2 with step h. */
static double integrate_density(const gm_dataset *d, double half, double h) {
    int n = (int)lround(2 * half / h);
    double total = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float x[2] = {(float)(-half + (i + 0.5) * h),
                          (float)(-half + (j + 0.5) * h)};
            total += exp(gm_dataset_log_density(d, x));
        }
    return total * h * h;
}

Test(mixture, density_integrates_to_one) {
    gm_dataset_spec ring = ring_spec(3, 1.0, 0.3, 10);
    gm_dataset_spec grid = grid_spec(2, 1.0, 0.25, 10);
    gm_dataset *a = make(&ring, 2), *b = make(&grid, 2);
    cr_assert_float_eq(integrate_density(a, 3.5, 0.01), 1.0, 1e-4);
    cr_assert_float_eq(integrate_density(b, 2.5, 0.01), 1.0, 1e-4);
    gm_dataset_free(a);
    gm_dataset_free(b);
}

Test(mixture, invalid_specs_name_the_key) {
    gm_rng r = gm_rng_stream(1, "data");
    gm_dataset_spec s = ring_spec(8, 2.0, 0.0, 100);
    expect_error(&s, &r, GM_ERR_INVALID, (const char *[]){"dataset.std", 0});
    s = ring_spec(0, 2.0, 0.1, 100);
    expect_error(&s, &r, GM_ERR_INVALID, (const char *[]){"dataset.modes", 0});
    s = ring_spec(GM_MIXTURE_MODES_MAX + 1, 2.0, 0.1, 100);
    expect_error(&s, &r, GM_ERR_INVALID,
                 (const char *[]){"dataset.modes", "1..1000000", 0});
    s = ring_spec(8, 2.0, 0.1, 0);
    expect_error(&s, &r, GM_ERR_INVALID, (const char *[]){"dataset.size", 0});
    s = ring_spec(8, 2.0, 0.1, 100);
    expect_error(&s, NULL, GM_ERR_INVALID, (const char *[]){"stream", 0});
    s = grid_spec(0, 2.0, 0.1, 100);
    expect_error(&s, &r, GM_ERR_INVALID, (const char *[]){"dataset.side", 0});
    s = grid_spec(5, -1.0, 0.1, 100);
    expect_error(&s, &r, GM_ERR_INVALID,
                 (const char *[]){"dataset.spacing", 0});
    snprintf(s.name, sizeof s.name, "spiral");
    expect_error(&s, &r, GM_ERR_NOT_FOUND, (const char *[]){"spiral", 0});
}

Test(dataset, kinds_and_arrays) {
    const char *want[] = {"ring", "grid", "fashion_mnist",
                          "stacked_fashion_mnist", "idx", "csv", "hdf5"};
    for (int i = 0; i < 7; i++) {
        const gm_dataset_kind *k = gm_dataset_kind_at(i);
        cr_assert_not_null(k);
        cr_assert_str_eq(k->name, want[i]);
        char keys[256];
        cr_assert(k->summary[0] && gm_dataset_kind_keys(k, keys, sizeof keys)[0]);
    }
    cr_assert_null(gm_dataset_kind_at(7));
    float rows[6] = {1, 2, 3, 4, 5, 6};
    gm_dataset *d = gm_dataset_from_array(rows, 3, 2, NULL);
    rows[0] = 99; /* the dataset keeps its own copy */
    cr_assert_eq(gm_dataset_rows(d), 3u);
    cr_assert_eq(gm_dataset_data(d)[0], 1.0f);
    cr_assert_eq(gm_dataset_data(d)[5], 6.0f);
    cr_assert_eq(gm_dataset_modes(d), 0);
    cr_assert_null(gm_dataset_centers(d));
    cr_assert_not(gm_dataset_has_density(d));
    cr_assert(isnan(gm_dataset_log_density(d, rows)));
    cr_assert_eq(gm_dataset_nearest_mode(d, rows, NULL), -1);
    gm_dataset_free(d);
    gm_error err = {0};
    cr_assert_null(gm_dataset_from_array(rows, 0, 2, &err));
    cr_assert_eq(err.status, GM_ERR_INVALID);
}

/* ---- IDX files -------------------------------------------------------- */

Test(idx, ubyte_round_trip_plain_and_gzip) {
    /* a plain file of 3x3 images, and a gzip one of 300 x 1000 values that
     * spans several stored blocks and read chunks */
    const struct {
        bool gz;
        int ndim;
        uint32_t dims[3];
        int dim, shape_ndim;
    } cases[] = {{false, 3, {4, 3, 3}, 9, 3}, {true, 2, {300, 1000}, 1000, 1}};
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    for (int c = 0; c < 2; c++) {
        size_t rows = cases[c].dims[0], n = rows * (size_t)cases[c].dim;
        unsigned char *px = malloc(n);
        for (size_t i = 0; i < n; i++)
            px[i] = (unsigned char)(i * 7919 % 256);
        px[5] = 255;
        px[6] = 0;
        snprintf(path, sizeof path, "%s/ubyte%d%s", dir, c,
                 cases[c].gz ? ".gz" : "");
        write_idx(path, cases[c].gz, 0x08, cases[c].ndim, cases[c].dims, px, n);
        gm_dataset_spec s = file_spec("idx", path);
        gm_dataset *d = load(&s);
        cr_assert_str_eq(gm_dataset_name(d), "idx");
        cr_assert_eq(gm_dataset_rows(d), rows);
        cr_assert_eq(gm_dataset_dim(d), cases[c].dim);
        if (cases[c].shape_ndim == 3) /* [n, 3, 3]: grey 3x3 images */
            assert_row_shape(d, 3, 1, 3, 3);
        else
            assert_row_shape(d, 1, cases[c].dim, 0, 0);
        cr_assert_null(gm_dataset_labels(d));
        cr_assert_eq(gm_dataset_test_rows(d), 0u);
        const float *x = gm_dataset_data(d);
        for (size_t i = 0; i < n; i++)
            cr_assert(x[i] == px[i] / 255.0f, "value %zu: %g", i, x[i]);
        cr_assert(x[5] == 1.0f && x[6] == 0.0f);
        free(px);
        gm_dataset_free(d);
    }
    remove_tmpdir(dir);
}

/* Float32 values as an IDX payload (big-endian). */
static void float_payload(const float *v, int n, unsigned char *out) {
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_be32(out + 4 * i, u);
    }
}

Test(idx, float_gzip_round_trip_with_test_split) {
    char dir[64], train[128], test[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(train, sizeof train, "%s/train.idx.gz", dir);
    snprintf(test, sizeof test, "%s/test.idx", dir);
    float v[7 * 3], w[2 * 3];
    for (int i = 0; i < 21; i++)
        v[i] = (i - 10.5f) * 0.37f;
    for (int i = 0; i < 6; i++)
        w[i] = -1e-3f * (float)i;
    unsigned char pv[sizeof v], pw[sizeof w];
    float_payload(v, 21, pv);
    float_payload(w, 6, pw);
    write_idx(train, true, 0x0D, 2, (uint32_t[]){7, 3}, pv, sizeof pv);
    write_idx(test, false, 0x0D, 3, (uint32_t[]){2, 1, 3}, pw, sizeof pw);
    gm_dataset_spec s = file_spec("idx", train);
    snprintf(s.test_path, sizeof s.test_path, "%s", test);
    gm_dataset *d = load(&s);
    cr_assert_eq(gm_dataset_rows(d), 7u);
    cr_assert_eq(gm_dataset_dim(d), 3);
    assert_row_shape(d, 1, 3, 0, 0); /* the train file's [7, 3] */
    cr_assert_eq(memcmp(gm_dataset_data(d), v, sizeof v), 0);
    cr_assert_eq(gm_dataset_test_rows(d), 2u);
    cr_assert_eq(memcmp(gm_dataset_test_data(d), w, sizeof w), 0);
    gm_dataset_free(d);
    /* a NaN (or a double too large for float) is refused */
    v[4] = NAN;
    float_payload(v, 21, pv);
    write_idx(train, true, 0x0D, 2, (uint32_t[]){7, 3}, pv, sizeof pv);
    s.test_path[0] = '\0';
    expect_error(&s, NULL, GM_ERR_NUMERIC,
                 (const char *[]){train, "value 4 (row 1)", 0});
    remove_tmpdir(dir);
}

Test(idx, signed_integer_and_double_types) {
    /* two big-endian values of each type, and the floats they must give */
    static const struct {
        int type;
        size_t size;
        unsigned char bytes[16];
        float want[2];
    } cases[] = {
        {0x09, 1, {0xFB, 0x80}, {-5.0f, -128.0f}},
        {0x0B, 2, {0xFE, 0xD4, 0x01, 0x2C}, {-300.0f, 300.0f}},
        {0x0C,
         4,
         {0xFF, 0xFE, 0xEE, 0x90, 0x00, 0x01, 0x11, 0x70},
         {-70000.0f, 70000.0f}},
        {0x0E,
         8,
         {0x3F, 0xD5, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,  /* 1/3 */
          0xC2, 0x17, 0x48, 0x76, 0xE8, 0x00, 0x00, 0x00}, /* -2.5e10 */
         {(float)(1.0 / 3.0), -2.5e10f}},
    };
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    for (int c = 0; c < 4; c++) {
        snprintf(path, sizeof path, "%s/type%02x", dir, cases[c].type);
        write_idx(path, c % 2, cases[c].type, 2, (uint32_t[]){2, 1},
                  cases[c].bytes, 2 * cases[c].size);
        gm_dataset_spec s = file_spec("idx", path);
        gm_dataset *d = load(&s);
        cr_assert_eq(gm_dataset_dim(d), 1);
        for (int i = 0; i < 2; i++)
            cr_assert_eq(gm_dataset_data(d)[i], cases[c].want[i],
                         "type 0x%02x value %d: %g", cases[c].type, i,
                         gm_dataset_data(d)[i]);
        gm_dataset_free(d);
    }
    remove_tmpdir(dir);
}

Test(idx, bad_magic_names_the_path) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/notidx.gz", dir);
    unsigned char junk[16] = "PK\3\4 not an idx";
    unsigned char bad_type[12] = {0, 0, 0x42, 1, 0, 0, 0, 4, 1, 2, 3, 4};
    for (int gz = 0; gz < 2; gz++) {
        size_t len;
        unsigned char *b = gz ? gzip_bytes(junk, sizeof junk, &len) : junk;
        write_bytes(path, b, gz ? len : sizeof junk);
        if (gz) free(b);
        gm_dataset_spec s = file_spec("idx", path);
        expect_error(&s, NULL, GM_ERR_IO,
                     (const char *[]){path, "bad magic", 0});
    }
    write_bytes(path, bad_type, sizeof bad_type);
    gm_dataset_spec s = file_spec("idx", path);
    expect_error(&s, NULL, GM_ERR_IO,
                 (const char *[]){path, "bad magic 0x00004201", 0});
    remove_tmpdir(dir);
}

Test(idx, truncated_files_name_the_path) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    unsigned char px[5 * 4];
    for (int i = 0; i < 20; i++)
        px[i] = (unsigned char)i;
    size_t len;
    unsigned char *full =
        idx_bytes(0x08, 2, (uint32_t[]){5, 4}, px, sizeof px, &len);
    /* cut in the header, in the dimensions, in the values */
    const size_t cuts[] = {2, 7, len - 1};
    const char *where[] = {"header", "dimensions", "values"};
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/cut%d", dir, c);
        write_bytes(path, full, cuts[c]);
        gm_dataset_spec s = file_spec("idx", path);
        expect_error(&s, NULL, GM_ERR_IO,
                     (const char *[]){path, "truncated", where[c], 0});
    }
    /* a gzip stream cut inside the data, and one cut inside its trailer */
    size_t zlen;
    unsigned char *z = gzip_bytes(full, len, &zlen);
    const size_t zcuts[] = {zlen - 15, zlen - 3};
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/cut%d.gz", dir, c);
        write_bytes(path, z, zcuts[c]);
        gm_dataset_spec s = file_spec("idx", path);
        expect_error(&s, NULL, GM_ERR_IO,
                     (const char *[]){path, "truncated", 0});
    }
    free(z);
    free(full);
    remove_tmpdir(dir);
}

Test(idx, inconsistent_shapes_are_errors) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/long", dir);
    unsigned char px[7] = {1, 2, 3, 4, 5, 6, 7};
    write_idx(path, false, 0x08, 2, (uint32_t[]){2, 3}, px, sizeof px);
    gm_dataset_spec s = file_spec("idx", path);
    expect_error(&s, NULL, GM_ERR_IO,
                 (const char *[]){path, "continues after the 6 values", 0});
    /* a zero dimension */
    write_idx(path, false, 0x08, 2, (uint32_t[]){0, 3}, px, 0);
    expect_error(&s, NULL, GM_ERR_IO, (const char *[]){path, "is 0", 0});
    /* a test split whose rows are not as wide as the train rows */
    char test[128];
    snprintf(test, sizeof test, "%s/test", dir);
    write_idx(path, false, 0x08, 2, (uint32_t[]){2, 3}, px, 6);
    write_idx(test, false, 0x08, 2, (uint32_t[]){3, 2}, px, 6);
    snprintf(s.test_path, sizeof s.test_path, "%s", test);
    expect_error(&s, NULL, GM_ERR_SHAPE, (const char *[]){test, path, 0});
    remove_tmpdir(dir);
}

Test(idx, missing_file_names_the_path) {
    gm_dataset_spec s = file_spec("idx", "no/such/dir/train-idx3-ubyte.gz");
    expect_error(
        &s, NULL, GM_ERR_NOT_FOUND,
        (const char *[]){"no/such/dir/train-idx3-ubyte.gz", "No such file", 0});
    s = file_spec("idx", "");
    expect_error(&s, NULL, GM_ERR_INVALID, (const char *[]){"dataset.path", 0});
}

/* ---- HDF5 arrays ---------------------------------------------------- */

static void h5_write(hid_t loc, const char *name, hid_t type, int rank,
                     const hsize_t *dims, const void *values) {
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    cr_assert_geq(ds, 0);
    cr_assert_geq(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), 0);
    H5Dclose(ds);
    H5Sclose(space);
}

/* A file with group/x float [5, 3], y double [4, 2], v float [6] and
 * n int [2, 2]. */
static void write_h5(const char *path, float *x, double *y) {
    for (int i = 0; i < 15; i++)
        x[i] = 0.5f * i - 3.25f;
    for (int i = 0; i < 8; i++)
        y[i] = 1.0 / (i + 3.0);
    int ints[4] = {1, 2, 3, 4};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t g = H5Gcreate2(f, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_write(g, "x", H5T_NATIVE_FLOAT, 2, (hsize_t[]){5, 3}, x);
    H5Gclose(g);
    h5_write(f, "y", H5T_NATIVE_DOUBLE, 2, (hsize_t[]){4, 2}, y);
    h5_write(f, "v", H5T_NATIVE_FLOAT, 1, (hsize_t[]){6}, x);
    h5_write(f, "n", H5T_NATIVE_INT, 2, (hsize_t[]){2, 2}, ints);
    H5Fclose(f);
}

static gm_dataset_spec h5_spec(const char *path, const char *key) {
    gm_dataset_spec s = file_spec("hdf5", path);
    snprintf(s.key, sizeof s.key, "%s", key);
    return s;
}

Test(hdf5, float_and_double_round_trip) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/arrays.h5", dir);
    float x[15];
    double y[8];
    write_h5(path, x, y);
    gm_dataset_spec s = h5_spec(path, "group/x");
    gm_dataset *d = load(&s);
    cr_assert_str_eq(gm_dataset_name(d), "hdf5");
    cr_assert_eq(gm_dataset_rows(d), 5u);
    cr_assert_eq(gm_dataset_dim(d), 3);
    cr_assert_eq(memcmp(gm_dataset_data(d), x, sizeof x), 0);
    gm_dataset_free(d);
    s = h5_spec(path, "/y");
    d = load(&s);
    cr_assert_eq(gm_dataset_rows(d), 4u);
    cr_assert_eq(gm_dataset_dim(d), 2);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(gm_dataset_data(d)[i], (float)y[i], "value %d", i);
    gm_dataset_free(d);
    remove_tmpdir(dir);
}

Test(hdf5, errors_name_the_file_and_key) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/arrays.h5", dir);
    float x[15];
    double y[8];
    write_h5(path, x, y);
    gm_dataset_spec s = h5_spec(path, "group/missing");
    expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                 (const char *[]){path, "\"group/missing\"", 0});
    s = h5_spec(path, "nogroup/x");
    expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                 (const char *[]){path, "nogroup/x", 0});
    s = h5_spec(path, "v");
    expect_error(&s, NULL, GM_ERR_SHAPE, (const char *[]){path, "v", "2-D", 0});
    s = h5_spec(path, "n");
    expect_error(&s, NULL, GM_ERR_INVALID,
                 (const char *[]){path, "n", "float", 0});
    s = h5_spec(path, "");
    expect_error(&s, NULL, GM_ERR_INVALID, (const char *[]){"dataset.key", 0});
    /* no file, and a file that is not HDF5 */
    snprintf(path, sizeof path, "%s/none.h5", dir);
    s = h5_spec(path, "x");
    expect_error(&s, NULL, GM_ERR_NOT_FOUND, (const char *[]){path, 0});
    write_bytes(path, (const unsigned char *)"hello", 5);
    expect_error(&s, NULL, GM_ERR_IO, (const char *[]){path, "HDF5", 0});
    remove_tmpdir(dir);
}

/* ---- csv ------------------------------------------------------------- */

static void write_text(const char *path, const char *text) {
    write_bytes(path, (const unsigned char *)text, strlen(text));
}

/* A header line of names is skipped, as are comments and blank lines;
 * the test split comes from test_path (issue 27). */
Test(csv, rows_after_a_header_with_a_test_split) {
    char dir[64], path[128], test[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/points.csv", dir);
    snprintf(test, sizeof test, "%s/held.csv", dir);
    write_text(path, "x, y\n# a comment\n1.5,-2\n\n 3e-1 , 4\r\n5,6");
    write_text(test, "7,8\n");
    gm_dataset_spec s = file_spec("csv", path);
    gm_dataset *d = load(&s);
    cr_assert_eq(gm_dataset_rows(d), 3u);
    cr_assert_eq(gm_dataset_dim(d), 2);
    const float want[6] = {1.5f, -2.f, 0.3f, 4.f, 5.f, 6.f};
    cr_assert_eq(memcmp(gm_dataset_data(d), want, sizeof want), 0);
    cr_assert_eq(gm_dataset_test_rows(d), 0u);
    gm_dataset_free(d);
    snprintf(s.test_path, sizeof s.test_path, "%s", test);
    d = load(&s);
    cr_assert_eq(gm_dataset_test_rows(d), 1u);
    cr_assert_eq(gm_dataset_test_data(d)[1], 8.f);
    gm_dataset_free(d);
    remove_tmpdir(dir);
}

/* Errors name the key, the file and the line. */
Test(csv, errors_name_the_key_file_and_line) {
    char dir[64], path[128], where[256];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    gm_dataset_spec s = file_spec("csv", path);
    write_text(path, "a,b\n1,2\n3,x\n");
    snprintf(where, sizeof where, "dataset.path: %s:3: column 2", path);
    expect_error(&s, NULL, GM_ERR_INVALID,
                 (const char *[]){where, "expected a number, got \"x\"", 0});
    write_text(path, "1,2\n3,4,5\n");
    snprintf(where, sizeof where, "dataset.path: %s:2: 3 values, the rows "
                                  "above have 2", path);
    expect_error(&s, NULL, GM_ERR_SHAPE, (const char *[]){where, 0});
    write_text(path, "1,2\n3,1e39\n");
    snprintf(where, sizeof where, "dataset.path: %s:2: column 2", path);
    expect_error(&s, NULL, GM_ERR_NUMERIC,
                 (const char *[]){where, "not finite", 0});
    write_text(path, "x,y\n");
    expect_error(&s, NULL, GM_ERR_INVALID,
                 (const char *[]){"no rows of numbers", 0});
    write_text(path, "1,2\n");
    snprintf(s.test_path, sizeof s.test_path, "%s/held.csv", dir);
    write_text(s.test_path, "1,2,3\n");
    expect_error(&s, NULL, GM_ERR_SHAPE,
                 (const char *[]){"dataset.test_path", "3 values per row", 0});
    unlink(s.test_path);
    expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                 (const char *[]){"dataset.test_path", "cannot open", 0});
    remove_tmpdir(dir);
}

/* A failed load in a worker thread: HDF5 entries left on that thread's
 * error stack when it exits make HDF5 print "infinite loop closing
 * library" at exit, so the loader must leave the stack empty. */
static void *failed_load_leaves_stack(void *spec) {
    gm_error err = {0};
    gm_rng stream = gm_rng_stream(1, "data");
    gm_dataset *d = gm_dataset_create(spec, &stream, &err);
    cr_assert_null(d);
    cr_assert_neq(err.status, GM_OK);
    return (void *)(intptr_t)H5Eget_num(H5E_DEFAULT);
}

Test(hdf5, a_failed_load_leaves_no_hdf5_error_behind) {
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    float x[15];
    double y[8];
    snprintf(path, sizeof path, "%s/arrays.h5", dir);
    write_h5(path, x, y);
    gm_dataset_spec missing_key = h5_spec(path, "group/missing");
    snprintf(path, sizeof path, "%s/not.h5", dir);
    write_bytes(path, (const unsigned char *)"hello", 5);
    gm_dataset_spec not_hdf5 = h5_spec(path, "x");
    gm_dataset_spec *specs[2] = {&missing_key, &not_hdf5};
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        void *left;
        cr_assert_eq(
            pthread_create(&t, NULL, failed_load_leaves_stack, specs[i]), 0);
        cr_assert_eq(pthread_join(t, &left), 0);
        cr_assert_eq((intptr_t)left, 0, "%s: %ld HDF5 errors left behind",
                     specs[i]->key, (long)(intptr_t)left);
    }
    remove_tmpdir(dir);
}

/* ---- batcher ---------------------------------------------------------- */

/* rows x 3 values; row i holds (i, i + 0.25, i + 0.5). */
static gm_dataset *numbered_rows(size_t rows) {
    float *v = malloc(rows * 3 * sizeof *v);
    for (size_t i = 0; i < rows; i++)
        for (int j = 0; j < 3; j++)
            v[3 * i + j] = (float)i + 0.25f * j;
    gm_dataset *d = gm_dataset_from_array(v, rows, 3, NULL);
    free(v);
    cr_assert_not_null(d);
    return d;
}

/* Draws one epoch of batches and writes the row ids, in order, to ids. */
static void draw_epoch(gm_batcher *b, int batch, int *ids) {
    size_t per = gm_batcher_batches_per_epoch(b);
    float out[16 * 3];
    for (size_t k = 0; k < per; k++) {
        gm_batcher_next(b, out, NULL);
        for (int r = 0; r < batch; r++) {
            int id = (int)out[3 * r];
            cr_assert_eq(out[3 * r + 1], id + 0.25f, "a whole row is copied");
            cr_assert_eq(out[3 * r + 2], id + 0.5f);
            ids[k * (size_t)batch + (size_t)r] = id;
        }
    }
}

/* Labels travel with their rows: each label is the class of the ring
 * mode nearest its row (the std is small), and the sequence of rows is
 * the one a batch without labels gets. */
Test(batcher, labels_come_with_their_rows) {
    gm_dataset_spec ds = {
        .name = "ring", .modes = 4, .radius = 2.0, .std = 0.01, .size = 40};
    gm_rng r = gm_rng_stream(9, "data");
    gm_dataset *d = gm_dataset_create(&ds, &r, NULL);
    cr_assert_not_null(d);
    cr_assert_eq(gm_dataset_classes(d), 4);
    gm_batcher *b = gm_batcher_create(d, 8, gm_rng_stream(1, "b"), NULL);
    gm_batcher *twin = gm_batcher_create(d, 8, gm_rng_stream(1, "b"), NULL);
    float x[16], twin_x[16], labels[8];
    for (int k = 0; k < 12; k++) { /* past an epoch of 5 batches */
        gm_batcher_next(b, x, labels);
        gm_batcher_next(twin, twin_x, NULL);
        cr_assert_eq(memcmp(x, twin_x, sizeof x), 0, "batch %d", k);
        for (int i = 0; i < 8; i++)
            cr_assert_eq(labels[i],
                         (float)gm_dataset_nearest_mode(d, x + 2 * i, NULL),
                         "batch %d row %d", k, i);
    }
    gm_batcher_free(b);
    gm_batcher_free(twin);
    gm_dataset_free(d);
}

Test(batcher, every_row_once_per_epoch_in_a_repeatable_order) {
    gm_dataset *d = numbered_rows(12);
    gm_batcher *b = gm_batcher_create(d, 4, gm_rng_stream(1, "data"), NULL);
    gm_batcher *twin = gm_batcher_create(d, 4, gm_rng_stream(1, "data"), NULL);
    gm_batcher *other = gm_batcher_create(d, 4, gm_rng_stream(2, "data"), NULL);
    cr_assert(b && twin && other);
    cr_assert_eq(gm_batcher_batches_per_epoch(b), 3u);
    int ids[5][12], twin_ids[12], other_ids[12];
    for (int e = 0; e < 5; e++) {
        cr_assert_eq(gm_batcher_epoch(b), e);
        draw_epoch(b, 4, ids[e]);
        draw_epoch(twin, 4, twin_ids);
        draw_epoch(other, 4, other_ids);
        cr_assert_eq(memcmp(ids[e], twin_ids, sizeof twin_ids), 0,
                     "same stream, same order (epoch %d)", e);
        cr_assert_neq(memcmp(ids[e], other_ids, sizeof other_ids), 0,
                      "another stream, another order (epoch %d)", e);
        int seen[12] = {0};
        for (int i = 0; i < 12; i++)
            seen[ids[e][i]]++;
        for (int i = 0; i < 12; i++)
            cr_assert_eq(seen[i], 1, "epoch %d: row %d seen %d times", e, i,
                         seen[i]);
    }
    cr_assert_eq(gm_batcher_epoch(b), 5);
    /* shuffled, and differently each epoch */
    bool identity = true;
    for (int i = 0; i < 12; i++)
        identity = identity && ids[0][i] == i;
    cr_assert_not(identity, "the first epoch is shuffled too");
    for (int e = 1; e < 5; e++)
        cr_assert_neq(memcmp(ids[e], ids[e - 1], sizeof ids[e]), 0,
                      "epochs %d and %d in the same order", e - 1, e);
    gm_batcher_free(b);
    gm_batcher_free(twin);
    gm_batcher_free(other);
    gm_dataset_free(d);
}

Test(batcher, drops_the_last_partial_batch) {
    gm_dataset *d = numbered_rows(10);
    gm_batcher *b = gm_batcher_create(d, 4, gm_rng_stream(2, "data"), NULL);
    cr_assert_eq(gm_batcher_batches_per_epoch(b), 2u);
    int ever[10] = {0};
    for (int e = 0; e < 30; e++) {
        int ids[8], seen[10] = {0};
        draw_epoch(b, 4, ids);
        cr_assert_eq(gm_batcher_epoch(b), e + 1);
        for (int i = 0; i < 8; i++) {
            cr_assert_eq(seen[ids[i]]++, 0, "row %d twice in epoch %d", ids[i],
                         e);
            ever[ids[i]]++;
        }
    }
    /* the two rows left out change from epoch to epoch */
    for (int i = 0; i < 10; i++)
        cr_assert_gt(ever[i], 0, "row %d", i);
    gm_batcher_free(b);
    gm_dataset_free(d);
}

Test(batcher, no_allocation_per_batch) {
    gm_dataset_spec s = ring_spec(8, 2.0, 0.02, 1000);
    gm_dataset *d = make(&s, 4);
    gm_batcher *b = gm_batcher_create(d, 64, gm_rng_stream(4, "data"), NULL);
    float out[64 * 2];
    gm_batcher_next(b, out, NULL);
    alloc_counter_start();
    for (int i = 0; i < 200; i++)
        gm_batcher_next(b, out, NULL); /* 12 epochs */
    size_t n = alloc_counter_stop().gm;
    cr_assert_eq(n, 0u, "%zu allocations in 200 batches", n);
    cr_assert_eq(gm_batcher_epoch(b), 201 / 15);
    gm_batcher_free(b);
    gm_dataset_free(d);
}

Test(batcher, batch_size_must_fit_the_dataset) {
    gm_dataset *d = numbered_rows(10);
    gm_error err = {0};
    cr_assert_null(gm_batcher_create(d, 11, gm_rng_stream(1, "d"), &err));
    cr_assert_eq(err.status, GM_ERR_INVALID);
    cr_assert_not_null(strstr(err.message, "batch_size"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "11"), "%s", err.message);
    cr_assert_null(gm_batcher_create(d, 0, gm_rng_stream(1, "d"), &err));
    gm_batcher *b = gm_batcher_create(d, 10, gm_rng_stream(1, "d"), &err);
    cr_assert_not_null(b, "batch_size == rows is fine");
    gm_batcher_free(b);
    gm_dataset_free(d);
}

/* ---- Fashion-MNIST ---------------------------------------------------- */

/* Checks one split of the real files: shape, pixel range, 10 balanced
 * classes. */
static void check_fashion_split(const float *x, const int *labels, size_t n) {
    cr_assert_not_null(x);
    cr_assert_not_null(labels);
    size_t per_class[10] = {0};
    float lo = 1, hi = 0;
    for (size_t i = 0; i < n * 784; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    cr_assert_eq(lo, 0.0f, "pixels in [%g, %g]", lo, hi);
    cr_assert_eq(hi, 1.0f, "pixels in [%g, %g]", lo, hi);
    for (size_t i = 0; i < n; i++) {
        cr_assert(labels[i] >= 0 && labels[i] < 10);
        per_class[labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(per_class[k], n / 10, "class %d: %zu", k, per_class[k]);
}

Test(fashion_mnist, real_files_or_a_clear_not_installed_error) {
    gm_dataset_spec s = file_spec("fashion_mnist", "");
    const char *gz = GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz";
    if (access(gz, F_OK) != 0 &&
        access(GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte", F_OK) != 0) {
        expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                     (const char *[]){GM_FASHION_MNIST_DIR
                                      "/train-images-idx3-ubyte",
                                      "install it with: apt-get install "
                                      "dataset-fashion-mnist",
                                      0});
        return;
    }
    gm_dataset *d = load(&s);
    cr_assert_str_eq(gm_dataset_name(d), "fashion_mnist");
    cr_assert_eq(gm_dataset_rows(d), 60000u);
    cr_assert_eq(gm_dataset_dim(d), 784);
    assert_row_shape(d, 3, 1, 28, 28);
    cr_assert_eq(gm_dataset_test_rows(d), 10000u);
    cr_assert_eq(gm_dataset_modes(d), 0);
    cr_assert_eq(gm_dataset_classes(d), 10);
    check_fashion_split(gm_dataset_data(d), gm_dataset_labels(d), 60000);
    check_fashion_split(gm_dataset_test_data(d), gm_dataset_test_labels(d),
                        10000);
    gm_dataset_free(d);
}

Test(fashion_mnist, missing_files_name_the_path_and_the_package) {
    char dir[64], want[128];
    make_tmpdir(dir, sizeof dir);
    gm_dataset_spec s = file_spec("fashion_mnist", dir);
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte", dir);
    expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                 (const char *[]){want, "not installed",
                                  "install it with: apt-get install "
                                  "dataset-fashion-mnist",
                                  0});
    remove_tmpdir(dir);
}

/* Writes a small Fashion-MNIST split (n images) into dir. */
static void write_fashion_split(const char *dir, const char *prefix, int n,
                                bool gz, int side, int bad_label) {
    char path[256];
    size_t npx = (size_t)n * (size_t)side * (size_t)side;
    unsigned char *px = malloc(npx), lab[8];
    for (size_t i = 0; i < npx; i++)
        px[i] = (unsigned char)(i % 256);
    for (int i = 0; i < n; i++)
        lab[i] = (unsigned char)(i * 3 % 10);
    if (bad_label >= 0) lab[0] = (unsigned char)bad_label;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix,
             gz ? ".gz" : "");
    write_idx(path, gz, 0x08, 3,
              (uint32_t[]){(uint32_t)n, (uint32_t)side, (uint32_t)side}, px,
              npx);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix,
             gz ? ".gz" : "");
    write_idx(path, gz, 0x08, 1, (uint32_t[]){(uint32_t)n}, lab, (size_t)n);
    free(px);
}

Test(fashion_mnist, reads_the_four_files_plain_or_gzipped) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    write_fashion_split(dir, "train", 3, true, 28, -1);
    write_fashion_split(dir, "t10k", 2, false, 28, -1);
    char with_slash[80];
    snprintf(with_slash, sizeof with_slash, "%s/", dir);
    gm_dataset_spec s = file_spec("fashion_mnist", with_slash);
    gm_dataset *d = load(&s);
    cr_assert_eq(gm_dataset_rows(d), 3u);
    cr_assert_eq(gm_dataset_test_rows(d), 2u);
    cr_assert_eq(gm_dataset_dim(d), 784);
    assert_row_shape(d, 3, 1, 28, 28);
    for (size_t i = 0; i < 3 * 784; i++)
        cr_assert(gm_dataset_data(d)[i] == (float)(i % 256) / 255.0f);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gm_dataset_labels(d)[i], i * 3);
    cr_assert_eq(gm_dataset_test_labels(d)[1], 3);
    cr_assert(gm_dataset_test_data(d)[1000] == (float)(1000 % 256) / 255.0f);
    gm_dataset_free(d);
    remove_tmpdir(dir);
}

/* ---- stacked Fashion-MNIST --------------------------------------------- */

/* The index of the image among n of `images` equal to img [784], or -1. */
static int find_image(const float *images, int n, const float *img) {
    for (int k = 0; k < n; k++)
        if (memcmp(images + (size_t)k * 784, img, 784 * sizeof *img) == 0)
            return k;
    return -1;
}

/* Each channel of a stacked row is one of the split's images, and the
 * row's label spells their labels as the digits l1 l2 l3. */
static void check_stacked_split(const float *rows, const int *labels, int n,
                                const float *images, const int *image_labels,
                                int n_images) {
    int seen[3][10] = {{0}};
    for (int i = 0; i < n; i++) {
        cr_assert(labels[i] >= 0 && labels[i] < 1000, "label %d", labels[i]);
        int digits[3] = {labels[i] / 100, labels[i] / 10 % 10, labels[i] % 10};
        for (int c = 0; c < 3; c++) {
            int k = find_image(images, n_images, rows + (i * 3 + c) * 784);
            cr_assert_geq(k, 0, "row %d channel %d is no source image", i, c);
            cr_assert_eq(image_labels[k], digits[c], "row %d channel %d", i, c);
            seen[c][digits[c]]++;
        }
    }
    /* every channel draws on its own: it takes several source labels */
    for (int c = 0; c < 3; c++) {
        int distinct = 0;
        for (int l = 0; l < 10; l++)
            distinct += seen[c][l] > 0;
        cr_assert_geq(distinct, 3, "channel %d", c);
    }
}

Test(stacked_fashion_mnist, channels_are_three_images_and_labels_their_digits) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    write_fashion_split(dir, "train", 5, true, 28, -1); /* labels 0 3 6 9 2 */
    write_fashion_split(dir, "t10k", 4, false, 28, -1);
    gm_dataset_spec s = file_spec("stacked_fashion_mnist", dir);
    s.size = 40;
    s.seed = 7;
    gm_dataset *d = load(&s);
    gm_dataset_spec fs = file_spec("fashion_mnist", dir);
    gm_dataset *f = load(&fs);
    cr_assert_eq(gm_dataset_rows(d), 40u);
    cr_assert_eq(gm_dataset_dim(d), 3 * 784);
    assert_row_shape(d, 3, 3, 28, 28);
    cr_assert_eq(gm_dataset_test_rows(d), 4u, "as many as the test images");
    cr_assert_eq(gm_dataset_classes(f), 10);
    cr_assert_eq(gm_dataset_classes(d), 1000);
    check_stacked_split(gm_dataset_data(d), gm_dataset_labels(d), 40,
                        gm_dataset_data(f), gm_dataset_labels(f), 5);
    check_stacked_split(gm_dataset_test_data(d), gm_dataset_test_labels(d), 4,
                        gm_dataset_test_data(f), gm_dataset_test_labels(f), 4);
    /* the seed decides the draw: again the same, another seed not */
    gm_dataset *again = load(&s);
    cr_assert_eq(memcmp(gm_dataset_data(again), gm_dataset_data(d),
                        40 * 3 * 784 * sizeof(float)),
                 0);
    s.seed = 8;
    gm_dataset *other = load(&s);
    cr_assert_neq(memcmp(gm_dataset_labels(other), gm_dataset_labels(d),
                         40 * sizeof(int)),
                  0);
    gm_dataset_free(other);
    gm_dataset_free(again);
    gm_dataset_free(f);
    gm_dataset_free(d);
    remove_tmpdir(dir);
}

Test(stacked_fashion_mnist, missing_files_name_the_path_and_the_package) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    gm_dataset_spec s = file_spec("stacked_fashion_mnist", dir);
    s.size = 10;
    expect_error(&s, NULL, GM_ERR_NOT_FOUND,
                 (const char *[]){"train-images-idx3-ubyte",
                                  "apt-get install dataset-fashion-mnist", 0});
    remove_tmpdir(dir);
}

Test(fashion_mnist, wrong_shapes_and_labels_are_errors) {
    char dir[64], path[160];
    make_tmpdir(dir, sizeof dir);
    write_fashion_split(dir, "train", 2, false, 27, -1);
    write_fashion_split(dir, "t10k", 2, false, 28, -1);
    gm_dataset_spec s = file_spec("fashion_mnist", dir);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    expect_error(&s, NULL, GM_ERR_SHAPE, (const char *[]){path, "28, 28", 0});
    write_fashion_split(dir, "train", 2, false, 28, 12);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    expect_error(&s, NULL, GM_ERR_IO, (const char *[]){path, "label 12", 0});
    remove_tmpdir(dir);
}
