/* csv: points as comma-separated numbers, one row per line.
 *
 * A first line with a field that is not a number is a header (column
 * names) and is skipped; empty lines and lines starting with '#' are
 * skipped too. Every other line is one row of the same number of values.
 * Errors name the key, the file and the line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* The points read so far, grown by doubling. */
typedef struct csv_rows {
    float *values;
    size_t n, cap; /* values */
    size_t rows;
    int dim; /* 0 until the first row */
} csv_rows;

static bool push(csv_rows *r, float v) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 1024;
        float *grown = cap < SIZE_MAX / sizeof *grown
                           ? realloc(r->values, cap * sizeof *grown)
                           : NULL;
        if (!grown) return false;
        r->values = grown;
        r->cap = cap;
    }
    r->values[r->n++] = v;
    return true;
}

/* The field [start, end) without the blanks around it, into out[cap]. */
static void trimmed(const char *start, const char *end, char *out, size_t cap) {
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
                           end[-1] == '\r' || end[-1] == '\n'))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - start), start);
}

/* True if every field of the line is a number. */
static bool all_numbers(const char *line) {
    for (const char *f = line;;) {
        const char *comma = strchr(f, ',');
        const char *end = comma ? comma : f + strlen(f);
        char field[512];
        trimmed(f, end, field, sizeof field);
        char *stop;
        strtod(field, &stop);
        if (!field[0] || *stop) return false;
        if (!comma) return true;
        f = comma + 1;
    }
}

/* Appends the values of one line (line number `at`) to r. */
static gm_status parse_line(const char *line, size_t at, const char *key,
                            const char *path, csv_rows *r, gm_error *err) {
    int count = 0;
    for (const char *f = line;;) {
        const char *comma = strchr(f, ',');
        const char *end = comma ? comma : f + strlen(f);
        char field[512];
        trimmed(f, end, field, sizeof field);
        char *stop;
        errno = 0;
        double v = strtod(field, &stop);
        count++;
        if (!field[0] || *stop)
            return gm_error_set(err, GM_ERR_INVALID,
                                "dataset.%s: %s:%zu: column %d: expected a "
                                "number, got \"%s\"",
                                key, path, at, count, field);
        if (!isfinite((float)v))
            return gm_error_set(err, GM_ERR_NUMERIC,
                                "dataset.%s: %s:%zu: column %d: %s is not "
                                "finite in float",
                                key, path, at, count, field);
        if (!push(r, (float)v))
            return gm_error_set(err, GM_ERR_NOMEM,
                                "dataset.%s: %s: out of memory at line %zu",
                                key, path, at);
        if (!comma) break;
        f = comma + 1;
    }
    if (r->dim && count != r->dim)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "dataset.%s: %s:%zu: %d values, the rows above "
                            "have %d",
                            key, path, at, count, r->dim);
    r->dim = count;
    r->rows++;
    return GM_OK;
}

/* Reads the CSV file at `path` (the value of dataset.<key>) into r. */
static gm_status read_csv(const char *path, const char *key, csv_rows *r,
                          gm_error *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return gm_error_set(err, errno == ENOENT ? GM_ERR_NOT_FOUND : GM_ERR_IO,
                            "dataset.%s: %s: cannot open: %s", key, path,
                            strerror(errno));
    char *line = NULL;
    size_t cap = 0, at = 0;
    bool first = true;
    gm_status st = GM_OK;
    while (st == GM_OK && getline(&line, &cap, f) >= 0) {
        at++;
        const char *p = line + strspn(line, " \t\r\n");
        if (!*p || *p == '#') continue;
        if (first && !all_numbers(p)) { /* a header */
            first = false;
            continue;
        }
        first = false;
        st = parse_line(p, at, key, path, r, err);
    }
    if (st == GM_OK && ferror(f))
        st = gm_error_set(err, GM_ERR_IO, "dataset.%s: %s: cannot read: %s",
                          key, path, strerror(errno));
    if (st == GM_OK && r->rows == 0)
        st = gm_error_set(err, GM_ERR_INVALID,
                          "dataset.%s: %s: no rows of numbers", key, path);
    free(line);
    fclose(f);
    return st;
}

gm_status gm_data_csv_load(gm_dataset *d, const gm_dataset_spec *spec,
                           gm_rng *stream, gm_error *err) {
    (void)stream;
    csv_rows train = {0};
    gm_status st = read_csv(spec->path, "path", &train, err);
    d->data = train.values;
    if (st != GM_OK) return st;
    d->rows = train.rows;
    d->dim = train.dim;
    if (!spec->test_path[0]) return GM_OK;
    csv_rows test = {0};
    st = read_csv(spec->test_path, "test_path", &test, err);
    d->test_data = test.values;
    if (st != GM_OK) return st;
    d->test_rows = test.rows;
    if (test.dim != train.dim)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "dataset.test_path: %s: %d values per row, the "
                            "rows of %s have %d",
                            spec->test_path, test.dim, spec->path, train.dim);
    return GM_OK;
}
