/* Optimizer steps against closed-form values of the torch.optim rules. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gm/optim.h"

static gm_params *one_weight(float w) {
    gm_params *p = gm_params_create("p");
    gm_params_add(p, "w", (int[]){1}, 1, NULL);
    gm_params_data(p)[0] = w;
    return p;
}

static void set_grad(gm_params *p, float g) { gm_params_grad(p)[0] = g; }

Test(optim, sgd_plain_step) {
    gm_params *p = one_weight(1.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_SGD);
    c.lr = 0.1f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    set_grad(p, 0.5f);
    gm_optim_step(o);
    cr_assert_float_eq(gm_params_data(p)[0], 0.95f, 1e-7);
    cr_assert_null(gm_optim_state(o, 0), "no momentum buffer without momentum");
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, sgd_momentum_and_weight_decay) {
    gm_params *p = one_weight(1.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_SGD);
    c.lr = 0.1f;
    c.momentum = 0.9f;
    c.weight_decay = 0.1f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    /* step 1: d = 0.5 + 0.1 * 1 = 0.6, buf = 0.6, w = 1 - 0.06 = 0.94
     * step 2: d = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134,
     *         w = 0.94 - 0.1134 = 0.8266 */
    set_grad(p, 0.5f);
    gm_optim_step(o);
    cr_assert_float_eq(gm_params_data(p)[0], 0.94f, 1e-6);
    set_grad(p, 0.5f);
    gm_optim_step(o);
    cr_assert_float_eq(gm_params_data(p)[0], 0.8266f, 1e-6);
    cr_assert_float_eq(gm_optim_state(o, 0)[0], 1.134f, 1e-6);
    gm_optim_free(o);
    gm_params_free(p);
}

/* Adam's update written out in double: the reference the float code must
 * match. */
static double adam_ref(double w, const double *g, int steps, double lr,
                       double b1, double b2, double eps, double wd,
                       bool decoupled) {
    double m = 0, v = 0;
    for (int t = 1; t <= steps; t++) {
        double d = g[t - 1] + (decoupled ? 0 : wd * w);
        if (decoupled) w *= 1 - lr * wd;
        m = b1 * m + (1 - b1) * d;
        v = b2 * v + (1 - b2) * d * d;
        double mh = m / (1 - pow(b1, t)), vh = v / (1 - pow(b2, t));
        w -= lr * mh / (sqrt(vh) + eps);
    }
    return w;
}

Test(optim, adam_first_step_moves_by_lr) {
    gm_params *p = one_weight(1.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.1f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    set_grad(p, 0.5f);
    gm_optim_step(o);
    /* mhat = g and vhat = g^2, so the first step is lr * sign(g). */
    cr_assert_float_eq(gm_params_data(p)[0], 0.9f, 1e-6);
    cr_assert_float_eq(gm_optim_state(o, 0)[0], 0.05f, 1e-7);
    cr_assert_float_eq(gm_optim_state(o, 1)[0], 0.00025f, 1e-8);
    cr_assert_eq(gm_optim_step_count(o), 1);
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, adam_steps_match_the_reference) {
    const double g[4] = {0.5, -1.0, 0.25, 2.0};
    gm_params *p = one_weight(1.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.1f;
    c.beta1 = 0.5f;
    c.weight_decay = 0.01f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    for (int t = 0; t < 4; t++) {
        set_grad(p, (float)g[t]);
        gm_optim_step(o);
    }
    double want = adam_ref(1.0, g, 4, 0.1, 0.5, 0.999, 1e-8, 0.01, false);
    cr_assert_float_eq(gm_params_data(p)[0], want, 1e-6, "got %.8f want %.8f",
                       gm_params_data(p)[0], want);
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, adam_second_step_by_hand) {
    /* m2 = -0.055, v2 = 0.00124975, mhat = -0.289473684,
     * vhat = 0.625187594, w2 = 0.9 + 0.1 * 0.289473684 / 0.790688 */
    gm_params *p = one_weight(1.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.1f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    set_grad(p, 0.5f);
    gm_optim_step(o);
    set_grad(p, -1.0f);
    gm_optim_step(o);
    cr_assert_float_eq(gm_params_data(p)[0], 0.936610f, 2e-6);
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, adamw_decays_decoupled) {
    const double g[3] = {0.3, 0.3, -0.2};
    gm_params *p = one_weight(2.0f);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAMW);
    c.lr = 0.05f;
    c.weight_decay = 0.5f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    for (int t = 0; t < 3; t++) {
        set_grad(p, (float)g[t]);
        gm_optim_step(o);
    }
    double want = adam_ref(2.0, g, 3, 0.05, 0.9, 0.999, 1e-8, 0.5, true);
    cr_assert_float_eq(gm_params_data(p)[0], want, 1e-6);
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, clipping_rescales_the_gradient_norm) {
    gm_params *p = gm_params_create("p");
    gm_params_add(p, "w", (int[]){2}, 1, NULL);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_SGD);
    c.lr = 1.0f;
    c.clip_norm = 1.0f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    gm_params_grad(p)[0] = 3.0f;
    gm_params_grad(p)[1] = 4.0f;
    gm_optim_step(o);
    cr_assert_float_eq(gm_optim_last_grad_norm(o), 5.0, 1e-9);
    cr_assert_float_eq(gm_params_data(p)[0], -0.6f, 1e-6);
    cr_assert_float_eq(gm_params_data(p)[1], -0.8f, 1e-6);
    /* Below the threshold nothing changes. */
    gm_params_grad(p)[0] = 0.3f;
    gm_params_grad(p)[1] = 0.4f;
    gm_optim_step(o);
    cr_assert_float_eq(gm_params_data(p)[0], -0.9f, 1e-6);
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, bad_settings_are_errors) {
    gm_params *p = one_weight(1.0f);
    gm_error err = {0};
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.0f;
    cr_assert_null(gm_optim_create(p, &c, &err));
    cr_assert(strstr(err.message, "lr"), "%s", err.message);
    c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.beta2 = 1.0f;
    cr_assert_null(gm_optim_create(p, &c, &err));
    cr_assert(strstr(err.message, "beta"), "%s", err.message);
    c = gm_optim_defaults(GM_OPTIM_SGD);
    c.momentum = -0.1f;
    cr_assert_null(gm_optim_create(p, &c, &err));
    cr_assert(strstr(err.message, "momentum"), "%s", err.message);
    c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.alpha = 1.0f;
    cr_assert_null(gm_optim_create(p, &c, &err));
    cr_assert(strstr(err.message, "alpha must be in [0, 1)"), "%s",
              err.message);
    gm_params_free(p);
}

Test(optim, names_parse) {
    gm_optim_kind k;
    cr_assert(gm_optim_kind_parse("adamw", &k));
    cr_assert_eq(k, GM_OPTIM_ADAMW);
    cr_assert(gm_optim_kind_parse("rmsprop", &k));
    cr_assert_eq(k, GM_OPTIM_RMSPROP);
    cr_assert_not(gm_optim_kind_parse("adagrad", &k));
    cr_assert_str_eq(gm_optim_kind_name(GM_OPTIM_SGD), "sgd");
}

/* Adam reads the gradient norm in its own pass when it does not clip; the
 * value and the update are those of the separate norm (clipping on, with a
 * bound never reached), bit for bit, on a group with a partial last block. */
Test(optim, adam_fused_norm_matches_the_separate_pass) {
    enum { N = 32 * 40 + 13 };
    gm_params *fused = gm_params_create("fused");
    gm_params *plain = gm_params_create("plain");
    gm_params_add(fused, "w", (int[]){N}, 1, NULL);
    gm_params_add(plain, "w", (int[]){N}, 1, NULL);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_optim *of = gm_optim_create(fused, &c, NULL);
    c.clip_norm = 1e30f;
    gm_optim *op = gm_optim_create(plain, &c, NULL);
    for (int step = 0; step < 3; step++) {
        double want = 0.0;
        for (int i = 0; i < N; i++) {
            float g = sinf(0.37f * (float)(i + 1) * (float)(step + 1));
            gm_params_grad(fused)[i] = gm_params_grad(plain)[i] = g;
            want += (double)g * g;
        }
        double separate = gm_params_grad_norm(fused);
        gm_optim_step(of);
        gm_optim_step(op);
        cr_assert_eq(gm_optim_last_grad_norm(of), separate, "step %d", step);
        cr_assert_eq(gm_optim_last_grad_norm(op), separate, "step %d", step);
        cr_assert_float_eq(separate, sqrt(want), 1e-12 * sqrt(want));
        for (int i = 0; i < N; i++)
            cr_assert_eq(gm_params_data(fused)[i], gm_params_data(plain)[i],
                         "step %d, weight %d", step, i);
    }
    gm_optim_free(of);
    gm_optim_free(op);
    gm_params_free(fused);
    gm_params_free(plain);
}

/* ---- RMSprop ----------------------------------------------------------- */

/* Two weights (1, -0.25) and four gradients, as
 * tests/fixtures/optim_reference.py gives them to torch.optim.RMSprop. */
static const float rms_grads[4][2] = {
    {0.5f, -3.0f}, {-1.0f, 0.0f}, {0.25f, 1e-3f}, {2.0f, -0.5f}};

static gm_params *two_weights(void) {
    gm_params *p = gm_params_create("p");
    gm_params_add(p, "w", (int[]){2}, 1, NULL);
    gm_params_data(p)[0] = 1.0f;
    gm_params_data(p)[1] = -0.25f;
    return p;
}

static void rms_steps(gm_optim *o, gm_params *p, int from, int to) {
    for (int t = from; t < to; t++) {
        memcpy(gm_params_grad(p), rms_grads[t], sizeof rms_grads[t]);
        gm_optim_step(o);
    }
}

/* torch.optim.RMSprop's parameters, square_avg and momentum_buffer after
 * the four steps (float32; tests/fixtures/optim_reference.py prints
 * them). gm follows torch's order of operations, but its alpha is a
 * float: 1 - 0.99f is 0.01 less 9.5e-7 of it, where torch's 1 - 0.99 in
 * double rounds to 0.01, hence the relative tolerance of 2e-6. */
static void rmsprop_matches_torch(gm_optim_config c, const double w[2],
                                  const double sq[2], const double buf[2]) {
    gm_params *p = two_weights();
    gm_optim *o = gm_optim_create(p, &c, NULL);
    cr_assert_not_null(o);
    rms_steps(o, p, 0, 4);
    for (int i = 0; i < 2; i++) {
        cr_assert_float_eq(gm_params_data(p)[i], w[i], 2e-6 * fabs(w[i]),
                           "w[%d] %.9g, torch's %.9g", i, gm_params_data(p)[i],
                           w[i]);
        cr_assert_float_eq(gm_optim_state(o, 1)[i], sq[i], 2e-6 * sq[i],
                           "square_avg[%d] %.9g, torch's %.9g", i,
                           gm_optim_state(o, 1)[i], sq[i]);
        if (buf)
            cr_assert_float_eq(gm_optim_state(o, 0)[i], buf[i],
                               2e-6 * fabs(buf[i]), "momentum[%d]", i);
    }
    cr_assert_eq(gm_optim_state(o, 0) != NULL, buf != NULL,
                 "a momentum buffer only with momentum");
    gm_optim_free(o);
    gm_params_free(p);
}

Test(optim, rmsprop_defaults_match_torch) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    cr_assert(c.lr == 1e-2f && c.alpha == 0.99f && c.eps == 1e-8f &&
              c.momentum == 0.0f && c.weight_decay == 0.0f);
    rmsprop_matches_torch(c, (const double[]){0.880583704, -0.133350968},
                          (const double[]){0.0528454967, 0.0898269117}, NULL);
}

Test(optim, rmsprop_weight_decay_matches_torch) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.alpha = 0.9f;
    c.weight_decay = 0.1f;
    rmsprop_matches_torch(c, (const double[]){0.956353962, -0.211633116},
                          (const double[]){0.543672621, 0.694384634}, NULL);
}

Test(optim, rmsprop_momentum_matches_torch) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.alpha = 0.9f;
    c.weight_decay = 0.1f;
    c.momentum = 0.9f;
    rmsprop_matches_torch(c, (const double[]){0.915834844, -0.134001464},
                          (const double[]){0.542239428, 0.693811357},
                          (const double[]){3.90570307, -2.96349216});
}

/* The original WGAN's setting (Arjovsky et al.: lr 5e-5). */
Test(optim, rmsprop_wgan_setting_matches_torch) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.lr = 5e-5f;
    rmsprop_matches_torch(c, (const double[]){0.99940294, -0.249416754},
                          (const double[]){0.0528454967, 0.0898269117}, NULL);
}

/* Saved after two steps and loaded into a fresh optimizer over a copy of
 * the weights, RMSprop goes on as the one never stopped, bit for bit;
 * its records are square_avg and momentum. */
Test(optim, rmsprop_state_round_trip) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.momentum = 0.5f;
    gm_params *p = two_weights(), *q = two_weights();
    gm_optim *o = gm_optim_create(p, &c, NULL);
    rms_steps(o, p, 0, 2);
    gm_state *s = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_optim_save_state(o, s, "optim/p", &err), GM_OK, "%s",
                 err.message);
    gm_state_record r;
    cr_assert(gm_state_find(s, "optim/p/square_avg", &r) && r.count == 2);
    cr_assert(gm_state_find(s, "optim/p/momentum", &r) && r.count == 2);
    memcpy(gm_params_data(q), gm_params_data(p), 2 * sizeof(float));
    gm_optim *back = gm_optim_create(q, &c, NULL);
    cr_assert_eq(gm_optim_load_state(back, s, "optim/p", &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(gm_optim_step_count(back), 2);
    rms_steps(o, p, 2, 4);
    rms_steps(back, q, 2, 4);
    cr_assert(memcmp(gm_params_data(p), gm_params_data(q), 2 * sizeof(float)) ==
              0);
    for (int slot = 0; slot < 2; slot++)
        cr_assert(memcmp(gm_optim_state(o, slot), gm_optim_state(back, slot),
                         2 * sizeof(float)) == 0,
                  "slot %d", slot);
    gm_state_free(s);
    gm_optim_free(o);
    gm_optim_free(back);
    gm_params_free(p);
    gm_params_free(q);
}
