/* vae_elbo: the VAE's evidence lower bound,
 *   L = E_q(z|x)[log p(x|z)] - beta * KL(q(z|x) || N(0, I)),
 * with z = mu + exp(logvar / 2) * eps. The loss is -L per example, averaged
 * over the batch. The autoencoder family is this one loss: beta-VAE for
 * any beta >= 0, the stochastic autoencoder at beta = 0 (noise, no KL),
 * and with posterior: deterministic the plain autoencoder (z = mu(x), no
 * noise, no KL term; beta must be 0). All of them sample the same way,
 * z ~ N(0, I) through the decoder. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gm/objective.h"
#include "gm/ops.h"
#include "objectives.h"

static const char *const posteriors[] = {"gaussian", "deterministic", NULL};

static const gm_hparam_spec vae_hparams[] = {
    {.name = "beta",
     .type = GM_HP_FLOAT,
     .def = 1.0,
     .min = 0.0,
     .max = 1e3,
     .doc = "weight of KL(q(z|x) || p(z))"},
    GM_VAE_LIKELIHOOD_HPARAMS,
    {.name = "warmup_steps",
     .type = GM_HP_INT,
     .def = 0,
     .min = 0,
     .max = 1e9,
     .doc = "ramp beta linearly from 0 over this many steps"},
    {.name = "free_bits",
     .type = GM_HP_FLOAT,
     .def = 0.0,
     .min = 0.0,
     .max = 100.0,
     .doc = "minimum KL (nats) per latent dimension in the loss"},
    {.name = "posterior",
     .type = GM_HP_CHOICE,
     .choices = posteriors,
     .def_choice = "gaussian",
     .doc = "q(z|x): gaussian (reparameterised) or deterministic (z = mu(x), "
            "the plain autoencoder; needs beta 0)"},
    GM_VAE_EVAL_HPARAMS,
};

typedef struct vae_state {
    gm_node *beta; /* the loss's beta, changed by the warm-up schedule */
    double beta_max;
    long warmup;
    gm_vae_eval *eval;
} vae_state;

static void vae_state_free(void *p) {
    vae_state *s = p;
    gm_vae_eval_free(s->eval);
    free(s);
}

static gm_status vae_evaluate(void *state, const float *data, const int *labels,
                              int n, double *out, gm_error *err) {
    return gm_vae_evaluate(((vae_state *)state)->eval, data, labels, n, out,
                           err);
}

static gm_status vae_after_step(void *state, long step, gm_error *err) {
    (void)err;
    vae_state *s = state;
    double ramp = s->warmup ? fmin(1.0, (double)step / s->warmup) : 1.0;
    gm_node_data(s->beta)[0] = (float)(s->beta_max * ramp);
    return GM_OK;
}

/* The warm-up's current beta and the evaluation graph's noise. */
static gm_status vae_save(const void *state, gm_state *out, const char *prefix,
                          gm_error *err) {
    const vae_state *s = state;
    char name[512];
    snprintf(name, sizeof name, "%s/beta", prefix);
    gm_status st = gm_state_put_f32(out, name, gm_node_data(s->beta), 1, err);
    return st == GM_OK ? gm_vae_eval_save(s->eval, out, prefix, err) : st;
}

static gm_status vae_load(void *state, const gm_state *in, const char *prefix,
                          gm_error *err) {
    vae_state *s = state;
    char name[512];
    snprintf(name, sizeof name, "%s/beta", prefix);
    gm_status st =
        gm_state_get(in, name, GM_STATE_F32, 1, gm_node_data(s->beta), err);
    return st == GM_OK ? gm_vae_eval_load(s->eval, in, prefix, err) : st;
}

/* The loss: reconstruction plus beta times the KL term, whose per-dimension
 * batch means count as at least free_bits lambda each,
 * max(kl, lambda) = relu(kl - lambda) + lambda. */
static gm_node *vae_loss(gm_graph *g, const gm_vae_parts *p, gm_node *beta,
                         double lambda) {
    if (p->deterministic) return p->recon_nll;
    gm_node *kl_term = p->kl;
    if (lambda > 0.0) {
        gm_node *per_dim = gm_mean(g, p->kl_elem, GM_AXIS_PER_COL);
        gm_node *floor = gm_add_scalar(
            g, gm_relu(g, gm_add_scalar(g, per_dim, (float)-lambda)),
            (float)lambda);
        kl_term = gm_sum(g, floor, GM_AXIS_ALL);
    }
    return gm_add(g, p->recon_nll, gm_mul(g, beta, kl_term));
}

/* The hooks' state with its evaluation built; NULL with err set. */
static vae_state *vae_state_create(const gm_vae_parts *p,
                                   const gm_build_ctx *ctx, gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    vae_state *st = calloc(1, sizeof *st);
    if (!st) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    st->beta_max = gm_hparams_number(h, "beta");
    st->warmup = (long)gm_hparams_number(h, "warmup_steps");
    st->beta = gm_input(p->graph, "beta", (int[]){1}, 1);
    gm_vae_eval_spec spec = gm_vae_parts_eval_spec(p, ctx);
    if (gm_vae_eval_create(&st->eval, &spec, ctx, err) != GM_OK) {
        vae_state_free(st);
        return NULL;
    }
    return st;
}

static gm_status vae_build(gm_model *m, const gm_build_ctx *ctx,
                           gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    gm_vae_parts p;
    gm_status s = gm_vae_build_parts(m, ctx, &p, err);
    if (s != GM_OK) return s;
    double lambda = gm_hparams_number(h, "free_bits");
    if (p.deterministic &&
        (gm_hparams_number(h, "beta") != 0.0 || lambda > 0.0)) {
        gm_graph_free(p.graph);
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': posterior: deterministic has no KL "
                            "term; set params.beta to 0 (and no free_bits)",
                            ctx->spec->name);
    }
    gm_graph *g = p.graph;
    vae_state *st = vae_state_create(&p, ctx, err);
    if (!st) {
        gm_graph_free(g);
        return err->status;
    }
    gm_hooks hooks = {.state = st,
                      .free_state = vae_state_free,
                      .after_step = vae_after_step,
                      .evaluate = vae_evaluate,
                      .save_state = vae_save,
                      .load_state = vae_load};
    gm_vae_eval_name_outputs(st->eval, &hooks);
    s = gm_model_set_hooks(m, &hooks, err);
    if (s != GM_OK) {
        gm_graph_free(g);
        return s;
    }
    gm_node *loss = vae_loss(g, &p, st->beta, lambda);
    s = gm_model_add_phase(m, "vae", g, loss, p.groups, 2, 1, err);
    if (s != GM_OK) return s;
    vae_after_step(st, 0, err); /* beta before the first step */
    return gm_vae_set_sampler(m, ctx, &p, err);
}

/* Held-out first: the numbers a VAE paper reports. */
static const char *const vae_headline[] = {
    "elbo_eval", "iwae_logpx", "distortion", "rate", "active_units"};

static const gm_metric_info vae_metrics[] = {GM_VAE_PARTS_METRICS,
                                              GM_VAE_EVAL_METRIC_ROWS};

const gm_objective gm_objective_vae_elbo = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "vae_elbo",
               .summary = "VAE: maximise the ELBO, beta-weighted KL; the "
                          "autoencoders are its special cases",
               .roles = gm_vae_roles,
               .n_roles = 2,
               .shapes = gm_vae_shapes,
               .hparams = vae_hparams,
               .n_hparams = sizeof vae_hparams / sizeof vae_hparams[0],
               .headline = vae_headline,
               .n_headline = sizeof vae_headline / sizeof vae_headline[0],
               .metrics = vae_metrics,
               .n_metrics = sizeof vae_metrics / sizeof vae_metrics[0],
               .log_px = "iwae_logpx"},
    .build = vae_build,
};
