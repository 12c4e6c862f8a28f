/* Mode coverage on hand-built sample sets, with exact expected counts
 * (the VEEGAN/PacGAN convention: high quality within 3 std of the nearest
 * mode; a mode is covered by at least one high-quality sample). */
#include <criterion/criterion.h>
#include <math.h>

#include "gm/metrics.h"

/* The ring of 4 (radius 1, std 0.1): centres (1,0), (0,1), (-1,0), (0,-1). */
static gm_dataset *ring4(void) {
    gm_dataset_spec spec = {.name = "ring", .modes = 4, .radius = 1.0,
                            .std = 0.1, .size = 100};
    gm_rng r = gm_rng_stream(1, "data");
    gm_error err = {0};
    gm_dataset *d = gm_dataset_create(&spec, &r, &err);
    cr_assert_not_null(d, "%s", err.message);
    cr_assert_float_eq(gm_dataset_centers(d)[2], 0.0f, 1e-6); /* (0, 1) */
    cr_assert_float_eq(gm_dataset_centers(d)[3], 1.0f, 1e-6);
    return d;
}

Test(metrics, all_samples_in_one_mode) {
    gm_dataset *d = ring4();
    float s[10 * 2];
    for (int i = 0; i < 10; i++) {
        s[2 * i] = 1.0f + 0.01f * (float)i; /* within 0.1 of (1, 0) */
        s[2 * i + 1] = -0.02f;
    }
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 10, counts);
    cr_assert_eq(m.modes_covered, 1);
    cr_assert_float_eq(m.hq_fraction, 1.0, 1e-12);
    cr_assert_eq(counts[0], 10);
    cr_assert_eq(counts[1] + counts[2] + counts[3], 0);
    gm_dataset_free(d);
}

Test(metrics, samples_spread_over_every_mode) {
    gm_dataset *d = ring4();
    /* (0.35, -1) is 3.5 std from (0, -1): not high quality. */
    const float s[8 * 2] = {1.05f, 0,  0, 0.95f, -1, 0.1f,  0.35f, -1,
                            0.9f,  0.1f, 0, 1.1f, -1.1f, 0, -0.1f, -0.9f};
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 8, counts);
    cr_assert_eq(m.modes_covered, 4);
    cr_assert_float_eq(m.hq_fraction, 7.0 / 8.0, 1e-12, "%g", m.hq_fraction);
    cr_assert_eq(counts[0], 2);
    cr_assert_eq(counts[1], 2);
    cr_assert_eq(counts[2], 2);
    cr_assert_eq(counts[3], 1);
    gm_dataset_free(d);
}

Test(metrics, off_mode_points_count_for_nothing) {
    gm_dataset *d = ring4();
    /* Exactly at 3 std (0.3) is in; beyond is out; the origin is 1 away
     * from every centre. */
    const float s[4 * 2] = {1.3f, 0, 0, 1.31f, 0, 0, 0.5f, 0.5f};
    int counts[4];
    gm_mode_stats m = gm_mode_stats_compute(d, s, 4, counts);
    cr_assert_eq(counts[0], 1);
    cr_assert_eq(counts[1], 0);
    cr_assert_eq(m.modes_covered, 1);
    cr_assert_float_eq(m.hq_fraction, 0.25, 1e-12);
    gm_dataset_free(d);
}
