/* gan_data_prior: the GAN whose generator also minimises
 *   lambda * E_z ||G_theta(z) - G_theta'(z)||^2,
 * the data-prior KL toward the previous generator theta' (a Gaussian
 * around each output; Su, "Variational inference: a unified framework of
 * generative models", arXiv 1807.05936). theta' is either
 *   cached: G(z) as it was before this iteration's generator updates, on
 *           the same z for all g_steps updates (Su's code; the term and its
 *           gradient are 0 on the first update, so it needs g_steps >= 2);
 *   frozen: a parameter copy taken before every `refresh_every`-th
 *           generator update (with 1 it always equals the generator and
 *           the term vanishes). */
#include <stdio.h>
#include <string.h>

#include "gan_parts.h"
#include "gm/ops.h"
#include "objectives.h"

static const char *const reductions[] = {"mean", "sum", NULL};
static const char *const previous_kinds[] = {"cached", "frozen", NULL};

static const gm_hparam_spec prior_hparams[] = {
    GM_GAN_HPARAMS,
    {.name = "lambda",
     .type = GM_HP_FLOAT,
     .def = 5.0,
     .min = 0.0,
     .max = 1e6,
     .doc = "weight of the data-prior term"},
    {.name = "reduction",
     .type = GM_HP_CHOICE,
     .choices = reductions,
     .def_choice = "mean",
     .doc = "mean over elements (Su's) or sum over dimensions"},
    {.name = "g_steps",
     .type = GM_HP_INT,
     .def = 2,
     .min = 1,
     .max = 100,
     .doc = "generator updates per iteration"},
    {.name = "previous",
     .type = GM_HP_CHOICE,
     .choices = previous_kinds,
     .def_choice = "cached",
     .doc = "theta': cached G(z) of this iteration, or a frozen copy"},
    {.name = "refresh_every",
     .type = GM_HP_INT,
     .def = 10,
     .min = 1,
     .max = 1e9,
     .doc = "frozen: generator updates between refreshes (1: no effect)"},
};

typedef struct prior_state {
    bool cached;
    /* cached: this iteration's z and G(z) before its updates */
    gm_rng z_stream;
    gm_node *z, *g_prev; /* inputs of the generator graph */
    gm_graph *cache;     /* G(z_cache) with the live parameters */
    gm_node *z_cache, *cache_out;
    /* frozen */
    gm_params *generator, *previous;
    long refresh_every, updates;
} prior_state;

static void prior_state_free(void *p) {
    prior_state *s = p;
    if (!s) return;
    gm_graph_free(s->cache);
    free(s);
}

static gm_status prior_before_phase(void *state, const char *phase, int repeat,
                                    long step, gm_error *err) {
    (void)step;
    prior_state *s = state;
    if (strcmp(phase, "generator") != 0) return GM_OK;
    if (!s->cached) {
        gm_status st = GM_OK;
        if (s->updates % s->refresh_every == 0)
            st = gm_params_copy_values(s->previous, s->generator, err);
        s->updates++;
        return st;
    }
    if (repeat > 0) return GM_OK; /* same z, same cache */
    size_t nz = gm_node_numel(s->z);
    gm_rng_fill_normal(&s->z_stream, gm_node_data(s->z), nz);
    memcpy(gm_node_data(s->z_cache), gm_node_data(s->z), nz * sizeof(float));
    gm_graph_forward(s->cache);
    memcpy(gm_node_data(s->g_prev), gm_node_data(s->cache_out),
           gm_node_numel(s->g_prev) * sizeof(float));
    return GM_OK;
}

/* The cached mode's z stream and the frozen mode's update count (the
 * frozen copy itself is a parameter group, saved by gm). */
static gm_status prior_save(const void *state, gm_state *out,
                            const char *prefix, gm_error *err) {
    const prior_state *s = state;
    char name[512];
    snprintf(name, sizeof name, "%s/z_stream", prefix);
    gm_status st = gm_state_put_rng(out, name, &s->z_stream, err);
    snprintf(name, sizeof name, "%s/updates", prefix);
    return st == GM_OK ? gm_state_put_i64(out, name, s->updates, err) : st;
}

static gm_status prior_load(void *state, const gm_state *in,
                            const char *prefix, gm_error *err) {
    prior_state *s = state;
    char name[512];
    int64_t updates = 0;
    snprintf(name, sizeof name, "%s/z_stream", prefix);
    gm_status st = gm_state_get_rng(in, name, &s->z_stream, err);
    snprintf(name, sizeof name, "%s/updates", prefix);
    if (st == GM_OK) st = gm_state_get_i64(in, name, &updates, err);
    if (st == GM_OK) s->updates = (long)updates;
    return st;
}

static gm_status build_cache(prior_state *s, const gm_build_ctx *ctx,
                             const gm_gan_parts *p, gm_error *err) {
    gm_graph *g = s->cache = gm_graph_create("generator_cache");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->generator);
    s->z_cache =
        gm_input(g, "z", (int[]){ctx->batch_size, ctx->spec->latent_dim}, 2);
    s->cache_out = gm_net_forward(g, &p->gen, s->z_cache);
    return gm_graph_compile(g, err);
}

/* The generator's graph: the GAN loss plus lambda * ||G(z) - G'(z)||^2. */
static gm_status build_generator(prior_state *s, const gm_build_ctx *ctx,
                                 const gm_gan_parts *p, gm_graph **out_g,
                                 gm_node **out_loss, gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    int b = ctx->batch_size, latent = ctx->spec->latent_dim;
    gm_graph *g = *out_g = gm_graph_create("generator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->discriminator);
    gm_node *z, *fake, *previous;
    if (s->cached) {
        z = s->z = gm_input(g, "z", (int[]){b, latent}, 2);
        fake = gm_net_forward(g, &p->gen, z);
        previous = s->g_prev =
            gm_input(g, "g_prev", (int[]){b, ctx->data_dim}, 2);
    } else {
        gm_graph_freeze(g, s->previous);
        z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
        fake = gm_net_forward(g, &p->gen, z);
        previous = gm_net_forward_with(g, &p->gen, s->previous, z);
    }
    gm_node *logit = gm_gan_discriminate(g, p, gm_node_set_name(fake, "fake"));
    gm_node *gan_loss = gm_gan_generator_loss(g, p, logit);
    gm_node *sq = gm_square(g, gm_sub(g, fake, previous));
    gm_node *dist = gm_hparams_is(h, "reduction", "sum")
                        ? gm_scale(g, gm_sum(g, sq, GM_AXIS_ALL), 1.0f / b)
                        : gm_mean(g, sq, GM_AXIS_ALL);
    float lambda = (float)gm_hparams_number(h, "lambda");
    gm_node *prior = gm_node_set_role(
        gm_node_set_name(gm_scale(g, dist, lambda), "prior_kl"),
        GM_ROLE_METRIC);
    *out_loss = gm_add(g, gan_loss, prior);
    if (gm_graph_error(g)) {
        *err = *gm_graph_error(g);
        gm_graph_free(g);
        *out_g = NULL;
        return err->status;
    }
    return GM_OK;
}

static gm_status prior_build(gm_model *m, const gm_build_ctx *ctx,
                             gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    gm_gan_parts p;
    gm_status s = gm_gan_networks(m, ctx, &p, err);
    if (s == GM_OK) s = gm_gan_add_discriminator_phase(m, ctx, &p, err);
    if (s != GM_OK) return s;
    prior_state *st = calloc(1, sizeof *st);
    if (!st) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    st->cached = gm_hparams_is(h, "previous", "cached");
    st->generator = p.generator;
    st->refresh_every = (long)gm_hparams_number(h, "refresh_every");
    st->z_stream = gm_rng_split(ctx->noise);
    gm_hooks hooks = {.state = st,
                      .free_state = prior_state_free,
                      .before_phase = prior_before_phase,
                      .save_state = prior_save,
                      .load_state = prior_load};
    s = gm_model_set_hooks(m, &hooks, err);
    if (s != GM_OK) return s;
    if (st->cached) {
        s = build_cache(st, ctx, &p, err);
    } else {
        st->previous = gm_params_clone(p.generator, "generator_prev", err);
        s = st->previous ? gm_model_adopt_params(m, st->previous, err)
                         : err->status;
    }
    if (s != GM_OK) return s;
    gm_graph *g = NULL;
    gm_node *loss = NULL;
    s = build_generator(st, ctx, &p, &g, &loss, err);
    if (s != GM_OK) return s;
    int g_steps = (int)gm_hparams_number(h, "g_steps");
    s = gm_gan_add_generator_phase(m, ctx, &p, g, loss, g_steps, err);
    return s == GM_OK ? gm_gan_set_sampler(m, ctx, &p.gen, err) : s;
}

static const char *const prior_headline[] = {
    "d_real", "d_fake", "d_score_real", "d_score_fake", "prior_kl"};

/* the GAN's (gan_parts.h), and the data-prior term */
static const gm_metric_info prior_metrics[] = {
    GM_ADV_SCORE_METRICS, GM_ADV_KL_DISC_METRICS, GM_PENALTY_METRIC,
    {"prior_kl", "the objective's loss", GM_BETTER_NEITHER}};

const gm_objective gm_objective_gan_data_prior = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "gan_data_prior",
               .summary = "GAN whose generator also stays close to the "
                          "previous generator (data-prior KL)",
               .roles = gm_gan_roles,
               .n_roles = 2,
               .shapes = gm_gan_shapes,
               .hparams = prior_hparams,
               .n_hparams = sizeof prior_hparams / sizeof prior_hparams[0],
               .headline = prior_headline,
               .n_headline = sizeof prior_headline / sizeof prior_headline[0],
               .metrics = prior_metrics,
               .n_metrics = sizeof prior_metrics / sizeof prior_metrics[0]},
    .build = prior_build,
};
