/* The run state (gm/state.h): records in, the same records out, through
 * the byte form too; bad names, types, sizes and bytes are refused with a
 * message naming the record. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gm/state.h"

static gm_state *sample_state(void) {
    gm_state *s = gm_state_create();
    gm_error err = {0};
    float w[6] = {1, -2, 3.5f, 0, 1e-30f, -0.0f};
    double sums[3] = {0.1, -1e300, 42};
    int32_t order[5] = {4, 0, 3, 1, 2};
    gm_rng r;
    gm_rng_seed(&r, 7);
    (void)gm_rng_normal(&r); /* leaves a spare */
    cr_assert_eq(gm_state_put(s, "params/g/w", GM_STATE_F32, 2,
                              (int64_t[]){2, 3}, w, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_state_put_f64(s, "metrics/sum", sums, 3, &err), GM_OK);
    cr_assert_eq(gm_state_put(s, "batcher/order", GM_STATE_I32, 1,
                              (int64_t[]){5}, order, &err),
                 GM_OK);
    cr_assert_eq(gm_state_put_i64(s, "run/step", -12345678901LL, &err), GM_OK);
    cr_assert_eq(gm_state_put_rng(s, "rng/phase_0/3", &r, &err), GM_OK);
    cr_assert_eq(gm_state_put_f32(s, "empty", NULL, 0, &err), GM_OK);
    return s;
}

static void check_sample(const gm_state *s) {
    gm_error err = {0};
    cr_assert_eq(gm_state_count(s), 6);
    float w[6];
    cr_assert_eq(gm_state_get(s, "params/g/w", GM_STATE_F32, 6, w, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(w[2], 3.5f);
    cr_assert_eq(w[4], 1e-30f);
    cr_assert(signbit(w[5]), "-0 keeps its sign");
    gm_state_record r;
    cr_assert(gm_state_find(s, "params/g/w", &r));
    cr_assert(r.rank == 2 && r.dims[0] == 2 && r.dims[1] == 3 && r.count == 6);
    double sums[3];
    cr_assert_eq(gm_state_get(s, "metrics/sum", GM_STATE_F64, 3, sums, &err),
                 GM_OK);
    cr_assert_eq(sums[1], -1e300);
    int32_t order[5];
    cr_assert_eq(gm_state_get(s, "batcher/order", GM_STATE_I32, 5, order, &err),
                 GM_OK);
    cr_assert_eq(order[0], 4);
    int64_t step;
    cr_assert_eq(gm_state_get_i64(s, "run/step", &step, &err), GM_OK);
    cr_assert_eq(step, -12345678901LL);
    gm_rng want, got;
    gm_rng_seed(&want, 7);
    (void)gm_rng_normal(&want);
    cr_assert_eq(gm_state_get_rng(s, "rng/phase_0/3", &got, &err), GM_OK);
    cr_assert_eq(gm_rng_normal(&got), gm_rng_normal(&want),
                 "the spare normal comes back");
    cr_assert_eq(gm_rng_u64(&got), gm_rng_u64(&want));
    cr_assert(gm_state_find(s, "empty", &r) && r.count == 0);
}

Test(state, records_come_back) {
    gm_state *s = sample_state();
    check_sample(s);
    gm_state_free(s);
}

Test(state, bytes_travel) {
    gm_state *s = sample_state();
    size_t n;
    const void *bytes = gm_state_bytes(s, &n);
    void *copy = malloc(n);
    memcpy(copy, bytes, n);
    gm_state *t = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_state_from_bytes(t, copy, n, &err), GM_OK, "%s",
                 err.message);
    check_sample(t);
    free(copy);
    gm_state_free(s);
    gm_state_free(t);
}

/* A checkpoint refills the same state at every step it is taken: once
 * grown, the buffer is reused. */
Test(state, reset_keeps_the_buffer) {
    gm_state *s = sample_state();
    size_t n, m;
    const void *first = gm_state_bytes(s, &n);
    gm_state_reset(s);
    cr_assert_eq(gm_state_count(s), 0);
    cr_assert_not(gm_state_find(s, "run/step", NULL));
    gm_error err = {0};
    float w[6] = {0};
    double sums[3] = {0};
    int32_t order[5] = {0};
    gm_rng r = {{1, 2, 3, 4}, 0, 0};
    gm_state_put(s, "params/g/w", GM_STATE_F32, 2, (int64_t[]){2, 3}, w, &err);
    gm_state_put_f64(s, "metrics/sum", sums, 3, &err);
    gm_state_put(s, "batcher/order", GM_STATE_I32, 1, (int64_t[]){5}, order,
                 &err);
    gm_state_put_i64(s, "run/step", 1, &err);
    gm_state_put_rng(s, "rng/phase_0/3", &r, &err);
    gm_state_put_f32(s, "empty", NULL, 0, &err);
    cr_assert_eq(gm_state_bytes(s, &m), first, "the same buffer");
    cr_assert_eq(m, n, "the same size");
    gm_state_free(s);
}

Test(state, bad_names_types_and_sizes_are_named) {
    gm_state *s = sample_state();
    gm_error err = {0};
    const char *bad[] = {"", "/a", "a/", "a//b", "a/./b", "../a", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(gm_state_put_i64(s, bad[i], 1, &err), GM_ERR_INVALID,
                     "'%s' refused", bad[i]);
    char long_part[300];
    memset(long_part, 'x', sizeof long_part - 1);
    long_part[sizeof long_part - 1] = '\0';
    cr_assert_eq(gm_state_put_i64(s, long_part, 1, &err), GM_ERR_INVALID);
    cr_assert_eq(gm_state_put_i64(s, "run/step", 1, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "'run/step' is there already"), "%s",
              err.message);
    float w[6];
    cr_assert_eq(gm_state_get(s, "params/g/w", GM_STATE_F64, 6, w, &err),
                 GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "'params/g/w' holds 6 f32 values, 6 f64"),
              "%s", err.message);
    cr_assert_eq(gm_state_get(s, "params/g/w", GM_STATE_F32, 5, w, &err),
                 GM_ERR_SHAPE);
    cr_assert_eq(gm_state_get(s, "params/g/v", GM_STATE_F32, 6, w, &err),
                 GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "no record 'params/g/v'"), "%s",
              err.message);
    cr_assert_eq(gm_state_put(s, "neg", GM_STATE_F32, 1, (int64_t[]){-1}, w,
                              &err),
                 GM_ERR_INVALID);
    gm_state_free(s);
}

/* Every truncation and every single-byte change of a serialised state is
 * either refused or read as a well-formed state: never a crash or a read
 * past the buffer (the suite runs under ASan). */
Test(state, damaged_bytes_are_refused_or_well_formed) {
    gm_state *s = sample_state();
    size_t n;
    const unsigned char *bytes = gm_state_bytes(s, &n);
    unsigned char *copy = malloc(n);
    gm_state *t = gm_state_create();
    gm_error err = {0};
    for (size_t cut = 0; cut < n; cut++) {
        memcpy(copy, bytes, cut);
        gm_status st = gm_state_from_bytes(t, copy, cut, &err);
        if (st == GM_OK)
            for (int i = 0; i < gm_state_count(t); i++)
                (void)gm_state_at(t, i);
        else
            cr_assert_eq(gm_state_count(t), 0, "a refused state is empty");
    }
    for (size_t at = 0; at < n; at++) {
        memcpy(copy, bytes, n);
        copy[at] ^= 0x5a;
        if (gm_state_from_bytes(t, copy, n, &err) == GM_OK)
            for (int i = 0; i < gm_state_count(t); i++)
                (void)gm_state_at(t, i);
    }
    cr_assert_eq(gm_state_from_bytes(t, "GMSTATE0", 8, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "not a serialised gm state"), "%s",
              err.message);
    free(copy);
    gm_state_free(t);
    gm_state_free(s);
}
