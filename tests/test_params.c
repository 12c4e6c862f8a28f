/* Parameter groups: flat buffers with named views, locking, frozen copies. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gm/params.h"

Test(params, views_are_laid_out_flat) {
    gm_params *p = gm_params_create("net");
    gm_error err = {0};
    int w = gm_params_add(p, "w", (int[]){3, 4}, 2, &err);
    int b = gm_params_add(p, "b", (int[]){4}, 1, &err);
    cr_assert_eq(w, 0);
    cr_assert_eq(b, 1);
    cr_assert_eq(gm_params_numel(p), 16u);
    cr_assert_eq(gm_params_view(p, b)->offset, 12u);
    cr_assert_eq(gm_params_view_data(p, b), gm_params_data(p) + 12);
    cr_assert_eq(gm_params_view_grad(p, b), gm_params_grad(p) + 12);
    cr_assert_eq(gm_params_find(p, "b"), 1);
    cr_assert_eq(gm_params_find(p, "nope"), -1);
    for (size_t i = 0; i < 16; i++) cr_assert_eq(gm_params_data(p)[i], 0.0f);
    gm_params_free(p);
}

Test(params, duplicate_name_is_an_error) {
    gm_params *p = gm_params_create("net");
    gm_error err = {0};
    gm_params_add(p, "w", (int[]){2}, 1, &err);
    cr_assert_eq(gm_params_add(p, "w", (int[]){2}, 1, &err), -1);
    cr_assert_eq(err.status, GM_ERR_INVALID);
    cr_assert(strstr(err.message, "'w'"), "%s", err.message);
    gm_params_free(p);
}

Test(params, bad_shape_is_an_error) {
    gm_params *p = gm_params_create("net");
    gm_error err = {0};
    cr_assert_eq(gm_params_add(p, "w", (int[]){2, 0}, 2, &err), -1);
    cr_assert_eq(gm_params_add(p, "v", (int[]){1, 1, 1, 1, 1}, 5, &err), -1);
    cr_assert_eq(err.status, GM_ERR_INVALID);
    gm_params_free(p);
}

Test(params, locked_group_refuses_views) {
    gm_params *p = gm_params_create("net");
    gm_error err = {0};
    gm_params_add(p, "w", (int[]){2}, 1, &err);
    gm_params_lock(p);
    cr_assert_eq(gm_params_add(p, "v", (int[]){2}, 1, &err), -1);
    cr_assert_eq(err.status, GM_ERR_STATE);
    cr_assert(strstr(err.message, "locked"), "%s", err.message);
    gm_params_free(p);
}

Test(params, clone_copies_values_and_layout) {
    gm_params *p = gm_params_create("g");
    gm_error err = {0};
    gm_params_add(p, "w", (int[]){2, 2}, 2, &err);
    gm_params_add(p, "b", (int[]){2}, 1, &err);
    for (int i = 0; i < 6; i++) gm_params_data(p)[i] = (float)i;
    gm_params *q = gm_params_clone(p, "g_prev", &err);
    cr_assert_not_null(q);
    cr_assert(gm_params_locked(q));
    cr_assert_str_eq(gm_params_name(q), "g_prev");
    cr_assert_eq(gm_params_count(q), 2);
    for (int i = 0; i < 6; i++) cr_assert_eq(gm_params_data(q)[i], (float)i);
    /* The copy is independent until refreshed. */
    gm_params_data(p)[0] = 42.0f;
    cr_assert_eq(gm_params_data(q)[0], 0.0f);
    cr_assert_eq(gm_params_copy_values(q, p, &err), GM_OK);
    cr_assert_eq(gm_params_data(q)[0], 42.0f);
    gm_params_free(p);
    gm_params_free(q);
}

Test(params, copy_between_different_layouts_fails) {
    gm_params *p = gm_params_create("a"), *q = gm_params_create("b");
    gm_error err = {0};
    gm_params_add(p, "w", (int[]){2, 3}, 2, &err);
    gm_params_add(q, "w", (int[]){3, 2}, 2, &err);
    cr_assert_eq(gm_params_copy_values(q, p, &err), GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "layout"), "%s", err.message);
    gm_params_free(p);
    gm_params_free(q);
}

Test(params, zero_grad_norm_and_finite) {
    gm_params *p = gm_params_create("a");
    gm_error err = {0};
    gm_params_add(p, "w", (int[]){2}, 1, &err);
    gm_params_grad(p)[0] = 3.0f;
    gm_params_grad(p)[1] = 4.0f;
    cr_assert_float_eq(gm_params_grad_norm(p), 5.0, 1e-12);
    cr_assert(gm_params_finite(p));
    gm_params_grad(p)[1] = NAN;
    cr_assert_not(gm_params_finite(p));
    gm_params_zero_grad(p);
    cr_assert_eq(gm_params_grad_norm(p), 0.0);
    gm_params_free(p);
}
