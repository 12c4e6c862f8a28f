/* A plugin whose objective, "crasher", crashes (a write to address 8:
 * SIGSEGV) in the hook named by GM_TEST_CRASH_IN ("build", "before_phase",
 * "after_step", "evaluate", "free_state"), so that gm must say which
 * plugin and hook before it dies. Otherwise a small generator trained to
 * output zeros. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gm/objective.h>
#include <gm/ops.h>

/* Not a constant, so that no compiler or sanitizer sees the fault coming. */
static volatile uintptr_t bad_address = 8;

static void crash_in(const char *hook) {
    const char *where = getenv("GM_TEST_CRASH_IN");
    if (where && strcmp(where, hook) == 0) *(volatile int *)bad_address = 1;
}

static gm_status before_phase(void *state, const char *phase, int repeat,
                              long step, gm_error *err) {
    crash_in("before_phase");
    return GM_OK;
}

static gm_status after_step(void *state, long step, gm_error *err) {
    crash_in("after_step");
    return GM_OK;
}

static gm_status evaluate(void *state, const float *data, const int *labels,
                          int n, double *out, gm_error *err) {
    crash_in("evaluate");
    out[0] = 0.0;
    return GM_OK;
}

static void free_state(void *state) { crash_in("free_state"); }

static const char *const eval_metrics[] = {"nothing"};
static const gm_metric_info metrics[] = {
    {"nothing", "nothing at all", GM_BETTER_NEITHER}};

static gm_status build(gm_model *m, const gm_build_ctx *ctx, gm_error *err) {
    crash_in("build");
    int b = ctx->batch_size, latent = ctx->spec->latent_dim;
    gm_net gen;
    gm_params *gp = gm_model_network(m, ctx, "generator", latent,
                                     ctx->data_dim, &gen, err);
    if (!gp) return err->status;
    gm_graph *g = gm_graph_create("generator");
    gm_node *z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    gm_node *out = gm_net_forward(g, &gen, z);
    gm_node *loss = gm_mean(g, gm_square(g, out), GM_AXIS_ALL);
    gm_status s = gm_model_add_phase(m, "generator", g, loss, &gp, 1, 1, err);
    if (s != GM_OK) return s;
    g = gm_graph_create("sampler");
    z = gm_randn(g, "z", (int[]){ctx->sample_count, latent}, 2, ctx->noise);
    gm_node *samples = gm_node_set_name(gm_net_forward(g, &gen, z), "samples");
    s = gm_model_set_sampler(m, g, samples, err);
    if (s != GM_OK) return s;
    gm_hooks hooks = {.free_state = free_state,
                      .before_phase = before_phase,
                      .after_step = after_step,
                      .evaluate = evaluate,
                      .eval_metrics = eval_metrics,
                      .n_eval_metrics = 1};
    return gm_model_set_hooks(m, &hooks, err);
}

static const char *const roles[] = {"generator"};
static const gm_role_shape shapes[] = {
    {.in = {.latent = 1}, .out = {.data = 1}},
};

static const gm_objective crasher = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "crasher",
               .summary = "crashes in the hook GM_TEST_CRASH_IN names",
               .roles = roles,
               .n_roles = 1,
               .shapes = shapes,
               .metrics = metrics,
               .n_metrics = 1},
    .build = build,
};

const gm_objective *gm_objective_entry(void) { return &crasher; }
