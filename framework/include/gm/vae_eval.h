/* gm/vae_eval.h: the held-out evaluation of a model with a Gaussian
 * encoder q(z|x) = N(mu(x), exp(logvar(x))), a standard normal prior
 * p(z) = N(0, I) and a decoder p(x|z), as vae_elbo and joint_kl report it
 * (docs/metrics.md has each metric's meaning and its estimator):
 *   distortion, rate, elbo_eval, iwae_logpx, posterior_gap, active_units,
 *   mutual_info, marginal_kl, recon_mse, kl_agg_qz_pz (in this order),
 *   then the vector kl_per_dim [latent];
 * with a deterministic encoder (z = mu(x), no density): distortion and
 * active_units only.
 *
 * A plugin describes its networks in a gm_vae_eval_spec at build time,
 * creates the evaluation and installs it as (or inside) its hooks:
 *   gm_vae_eval *eval;
 *   gm_vae_eval_spec spec = {.encoder = &enc, .decoder = &dec,
 *                            .latent = ctx->spec->latent_dim,
 *                            .sigma = 0.1};
 *   if (gm_vae_eval_create(&eval, &spec, ctx, err) != GM_OK)
 *       return err->status;
 *   gm_hooks hooks = {0};
 *   gm_vae_eval_hooks(eval, &hooks);
 *   gm_model_set_hooks(m, &hooks, err);
 * and declares the metrics in its schema (GM_VAE_EVAL_METRIC_ROWS). The
 * evaluation runs the networks in graphs of its own, with their
 * parameters frozen and batch norm on its running statistics; it draws
 * its noise from ctx->noise, which its save and load keep for a resumed
 * run. */
#ifndef GM_VAE_EVAL_H
#define GM_VAE_EVAL_H

#include <stdbool.h>

#include "gm/api.h"
#include "gm/objective.h"
#include "gm/state.h"

GM_API_BEGIN

/* p(x|z), given the decoder's output d [rows, data_dim]. */
typedef enum gm_likelihood {
    GM_LIKELIHOOD_GAUSSIAN,  /* N(x; d, sigma^2) per dimension */
    GM_LIKELIHOOD_BERNOULLI, /* d are logits; samples are sigmoid(d) */
} gm_likelihood;

/* The model the evaluation sees. gm_vae_eval_create reads the networks
 * (a build's local gm_net will do) and keeps none of the pointers; the
 * parameter groups are the model's and live as long as it. */
typedef struct gm_vae_eval_spec {
    /* x [rows, data_dim] -> [mu | logvar], [rows, 2 * latent]: mu in the
     * first latent columns, the log-variance in the others. */
    const gm_net *encoder;
    /* z [rows, latent] -> d [rows, data_dim], the likelihood's mean or
     * logits. */
    const gm_net *decoder;
    int latent;
    gm_likelihood likelihood;
    /* Gaussian: the fixed standard deviation of every dimension, or, if
     * learned_logvar names one, the [data_dim] log-variance parameter of
     * the decoder's group (gm_params_find on decoder->params). */
    double sigma;
    const char *learned_logvar;
    /* z = mu(x): a plain autoencoder, evaluated without noise. */
    bool deterministic;
    int iwae_k;    /* importance samples per row for iwae_logpx; 0: 64 */
    int iwae_rows; /* held-out rows for iwae_logpx and posterior_gap; 0:
                      all */
} gm_vae_eval_spec;

typedef struct gm_vae_eval gm_vae_eval;

/* Builds the evaluation of spec for the held-out rows of ctx
 * (ctx->eval_rows, ctx->data_dim, noise from ctx->noise) into *out.
 * GM_ERR_INVALID, with err naming the field, if the networks' widths do
 * not fit data_dim and latent, or a setting is out of range. */
gm_status gm_vae_eval_create(gm_vae_eval **out, const gm_vae_eval_spec *spec,
                             const gm_build_ctx *ctx, gm_error *err);

/* Frees an evaluation (a gm_hooks.free_state); NULL is a no-op. */
void gm_vae_eval_free(void *eval);

/* Sets in h the names of what gm_vae_evaluate writes (eval_metrics,
 * eval_vectors and their lengths, which point into eval). */
void gm_vae_eval_name_outputs(const gm_vae_eval *eval, gm_hooks *h);

/* Sets in h everything an objective whose only hook is the evaluation
 * needs: state (eval), free_state, evaluate, save_state, load_state and
 * the names. The model then owns eval. */
void gm_vae_eval_hooks(gm_vae_eval *eval, gm_hooks *h);

/* A gm_evaluate_fn: evaluates data [n, data_dim] (n at most the build's
 * ctx->eval_rows) into out, the metrics then kl_per_dim, as
 * gm_vae_eval_name_outputs names them. labels is unused. */
gm_status gm_vae_evaluate(void *eval, const float *data, const int *labels,
                          int n, double *out, gm_error *err);

/* A gm_save_state_fn and gm_load_state_fn: the evaluation graphs' noise,
 * as records under prefix. */
gm_status gm_vae_eval_save(const void *eval, gm_state *out, const char *prefix,
                           gm_error *err);
gm_status gm_vae_eval_load(void *eval, const gm_state *in, const char *prefix,
                           gm_error *err);

/* kl_agg_qz_pz: KL(N(m, diag v) || N(0, I)) for the moments of a mixture
 * of n diagonal Gaussians given by sums over its components of mu, mu^2
 * and exp(logvar) (each [latent]): m = E[mu], v = E[exp(logvar)] +
 * Var(mu). */
double gm_gaussian_moment_kl(const double *mu_sum, const double *mu_sq,
                             const double *var_sum, int latent, int n);

GM_API_END

/* The evaluation's rows of a schema's metrics (gm_objective_schema's
 * metrics), e.g. {..., GM_VAE_EVAL_METRIC_ROWS}. */
#define GM_VAE_EVAL_METRIC_ROWS                                                \
    {"distortion", "nats per example", GM_BETTER_LOWER},                       \
        {"rate", "nats per example", GM_BETTER_NEITHER},                       \
        {"elbo_eval", "nats per example", GM_BETTER_HIGHER},                   \
        {"iwae_logpx", "nats per example", GM_BETTER_HIGHER},                  \
        {"posterior_gap", "nats per example", GM_BETTER_LOWER},                \
        {"active_units", "latent dimensions", GM_BETTER_HIGHER},               \
        {"mutual_info", "nats per example", GM_BETTER_NEITHER},                \
        {"marginal_kl", "nats per example", GM_BETTER_LOWER},                  \
        {"kl_per_dim", "nats per example", GM_BETTER_NEITHER},                 \
        {"recon_mse", "squared data units", GM_BETTER_LOWER},                  \
        {"kl_agg_qz_pz", "nats", GM_BETTER_LOWER}

/* Its hyperparameters, for a schema's hparams: read them with
 * gm_hparams_number into iwae_k and iwae_rows. */
#define GM_VAE_EVAL_HPARAMS                                                    \
    {.name = "iwae_k",                                                         \
     .type = GM_HP_INT,                                                        \
     .def = 64,                                                                \
     .min = 1,                                                                 \
     .max = 4096,                                                              \
     .doc = "importance samples per row for iwae_logpx"},                      \
    {                                                                          \
        .name = "iwae_rows", .type = GM_HP_INT, .def = 0, .min = 0,            \
        .max = 1e9,                                                            \
        .doc = "held-out rows for iwae_logpx and posterior_gap (0: all)"       \
    }

#endif
