#include "run_compare.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gm/runfile.h"
#include "gm/state.h"

void test_stop_at(const gm_progress *p, void *ctx) {
    test_stopper *s = ctx;
    if ((!s->model || strcmp(p->model, s->model) == 0) && p->step >= s->at)
        s->flag = 1;
}

/* The whole contents of a dataset as bytes (malloc'd). */
static void *read_all(hid_t f, const char *path, size_t *size) {
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", path);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    *size = H5Tget_size(t) * (size_t)H5Sget_simple_extent_npoints(s);
    void *buf = malloc(*size ? *size : 1);
    cr_assert_geq(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
    H5Sclose(s);
    H5Tclose(t);
    H5Dclose(d);
    return buf;
}

void same_dataset(hid_t a, hid_t b, const char *path) {
    size_t na, nb;
    void *x = read_all(a, path, &na), *y = read_all(b, path, &nb);
    cr_assert_eq(na, nb, "%s: sizes differ", path);
    cr_assert_eq(memcmp(x, y, na), 0, "%s differs", path);
    free(x);
    free(y);
}

void same_checkpoint(const char *want, const char *got, const char *model,
                     int seed) {
    gm_state *sa = gm_state_create(), *sb = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_runfile_read_state(want, model, seed, sa, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(gm_runfile_read_state(got, model, seed, sb, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(gm_state_count(sa), gm_state_count(sb), "%s seed %d", model,
                 seed);
    for (int i = 0; i < gm_state_count(sa); i++) {
        gm_state_record r = gm_state_at(sa, i), q;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)r.name_len, r.name);
        if (strcmp(name, "run/train_seconds") == 0) continue;
        cr_assert(gm_state_find(sb, name, &q), "%s seed %d: %s", model, seed,
                  name);
        cr_assert_eq(r.count, q.count, "%s seed %d: %s", model, seed, name);
        cr_assert_eq(
            memcmp(r.data, q.data, r.count * gm_state_type_size(r.type)), 0,
            "%s seed %d: checkpoint record %s differs", model, seed, name);
    }
    gm_state_free(sa);
    gm_state_free(sb);
}
