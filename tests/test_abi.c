/* The objective ABI (GM_OBJECTIVE_ABI, gm/objective.h) covers every
 * struct a plugin sees: their sizes and key offsets are recorded here
 * with the ABI number they were recorded at. A change to one of them
 * without a bump of the number fails here, asking for the bump; with the
 * bump, record the new layout (RECORDED_ABI and the numbers). The
 * numbers are those of an LP64 target (x86-64, AArch64 Linux). */
#include <criterion/criterion.h>
#include <stddef.h>

#include "gm/objective.h"
#include "gm/op.h"
#include "gm/vae_eval.h"

#define RECORDED_ABI 8

typedef struct layout {
    const char *what;
    size_t now, recorded;
} layout;

#define SIZE(T, n) {"sizeof(" #T ")", sizeof(T), n}
#define OFFSET(T, f, n) {"offsetof(" #T ", " #f ")", offsetof(T, f), n}
/* An enumerator's value: a plugin compiled with the old value means
 * another kind. */
#define VALUE(e, n) {#e, (size_t)(e), n}

static const layout layouts[] = {
    SIZE(gm_objective, 128),
    OFFSET(gm_objective, schema, 8),
    OFFSET(gm_objective, build, 120),
    SIZE(gm_objective_schema, 112),
    OFFSET(gm_objective_schema, roles, 16),
    OFFSET(gm_objective_schema, hparams, 32),
    OFFSET(gm_objective_schema, shapes, 48),
    OFFSET(gm_objective_schema, headline, 56),
    OFFSET(gm_objective_schema, metrics, 72),
    OFFSET(gm_objective_schema, log_px, 88),
    OFFSET(gm_objective_schema, classifier_role, 96),
    OFFSET(gm_objective_schema, accuracy_metric, 104),
    SIZE(gm_metric_info, 24),
    OFFSET(gm_metric_info, better, 16),
    SIZE(gm_role_shape, 32),
    SIZE(gm_width, 16),
    OFFSET(gm_width, classes, 12),
    SIZE(gm_build_ctx, 56),
    OFFSET(gm_build_ctx, spec, 0),
    OFFSET(gm_build_ctx, data_dim, 8),
    OFFSET(gm_build_ctx, eval_rows, 20),
    OFFSET(gm_build_ctx, data, 24),
    OFFSET(gm_build_ctx, seed, 32),
    OFFSET(gm_build_ctx, init, 40),
    OFFSET(gm_build_ctx, noise, 48),
    SIZE(gm_model_spec, 12768),
    OFFSET(gm_model_spec, objective, 128),
    OFFSET(gm_model_spec, plugin, 192),
    OFFSET(gm_model_spec, latent_dim, 1216),
    OFFSET(gm_model_spec, networks, 1220),
    OFFSET(gm_model_spec, n_networks, 8212),
    OFFSET(gm_model_spec, params, 8216),
    OFFSET(gm_model_spec, train, 11040),
    OFFSET(gm_model_spec, sweep, 11096),
    OFFSET(gm_model_spec, n_sweep, 12760),
    SIZE(gm_role_network, 1748),
    OFFSET(gm_role_network, net, 32),
    SIZE(gm_train_spec, 56),
    OFFSET(gm_train_spec, precision, 48),
    OFFSET(gm_train_spec, optimizer, 12),
    SIZE(gm_optim_config, 36),
    OFFSET(gm_optim_config, clip_norm, 28),
    OFFSET(gm_optim_config, alpha, 32),
    SIZE(gm_hparam_spec, 64),
    OFFSET(gm_hparam_spec, type, 8),
    OFFSET(gm_hparam_spec, def, 16),
    OFFSET(gm_hparam_spec, choices, 40),
    OFFSET(gm_hparam_spec, doc, 56),
    SIZE(gm_hparams, 2824),
    OFFSET(gm_hparams, item, 8),
    SIZE(gm_sweep_value, 208),
    OFFSET(gm_sweep_value, text, 128),
    OFFSET(gm_sweep_value, number, 200),
    SIZE(gm_hooks, 96),
    OFFSET(gm_hooks, before_phase, 16),
    OFFSET(gm_hooks, evaluate, 32),
    OFFSET(gm_hooks, eval_metrics, 40),
    OFFSET(gm_hooks, eval_vectors, 56),
    OFFSET(gm_hooks, n_eval_vectors, 72),
    OFFSET(gm_hooks, save_state, 80),
    OFFSET(gm_hooks, load_state, 88),
    SIZE(gm_net, 3760),
    OFFSET(gm_net, layers, 8),
    OFFSET(gm_net, n_layers, 136),
    OFFSET(gm_net, activation_param, 156),
    OFFSET(gm_net, net, 160),
    OFFSET(gm_net, n_net, 3744),
    OFFSET(gm_net, stats, 3752),
    SIZE(gm_net_spec, 1716),
    OFFSET(gm_net_spec, activation, 32),
    OFFSET(gm_net_spec, out, 40),
    OFFSET(gm_net_spec, layers, 48),
    OFFSET(gm_net_spec, n_layers, 1712),
    SIZE(gm_layer_spec, 52),
    OFFSET(gm_layer_spec, no_bias, 20),
    OFFSET(gm_layer_spec, slope, 24),
    OFFSET(gm_layer_spec, momentum, 28),
    OFFSET(gm_layer_spec, ndim, 48),
    SIZE(gm_layer, 112),
    OFFSET(gm_layer, params, 88),
    OFFSET(gm_layer, var, 108),
    SIZE(gm_linear, 16),
    SIZE(gm_rng, 48),
    OFFSET(gm_rng, has_spare, 40),
    SIZE(gm_error, 516),
    SIZE(gm_vae_eval_spec, 56),
    OFFSET(gm_vae_eval_spec, latent, 16),
    OFFSET(gm_vae_eval_spec, sigma, 24),
    OFFSET(gm_vae_eval_spec, learned_logvar, 32),
    OFFSET(gm_vae_eval_spec, iwae_rows, 48),
    SIZE(gm_op_def, 64),
    OFFSET(gm_op_def, flags, 48),
    OFFSET(gm_op_def, grad, 56),
    VALUE(GM_ACT_SOFTPLUS, 6),
    VALUE(GM_ACT_COUNT, 7),
    VALUE(GM_LAYER_FLATTEN, 11),
    VALUE(GM_LAYER_KIND_COUNT, 12),
    VALUE(GM_OPTIM_KIND_COUNT, 4),
    VALUE(GM_BETTER_LOWER, 2),
    VALUE(GM_HP_CHOICE, 3),
    VALUE(GM_LIKELIHOOD_BERNOULLI, 1),
};

Test(abi, the_structs_a_plugin_sees_are_as_recorded_with_the_abi) {
#if !(defined(__LP64__) && (defined(__x86_64__) || defined(__aarch64__)))
    cr_skip_test("layouts recorded for LP64 targets only");
#endif
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        const layout *l = &layouts[i];
        bool same_abi = GM_OBJECTIVE_ABI == RECORDED_ABI;
        cr_expect(l->now == l->recorded || !same_abi,
                  "%s is %zu, %zu at ABI %d: a struct a plugin sees changed, "
                  "so plugins built before read it wrong: bump "
                  "GM_OBJECTIVE_ABI in gm/objective.h (saying why) and "
                  "record the new layout in tests/test_abi.c",
                  l->what, l->now, l->recorded, RECORDED_ABI);
        cr_expect(l->now == l->recorded || same_abi,
                  "%s is %zu, %zu at ABI %d: record the layout of ABI %d in "
                  "tests/test_abi.c",
                  l->what, l->now, l->recorded, RECORDED_ABI,
                  GM_OBJECTIVE_ABI);
    }
    cr_assert_eq(GM_OBJECTIVE_ABI, RECORDED_ABI,
                 "GM_OBJECTIVE_ABI is %d, the layouts here were recorded at "
                 "%d: record them anew in tests/test_abi.c",
                 GM_OBJECTIVE_ABI, RECORDED_ABI);
}
