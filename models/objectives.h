/* The built-in objectives (builtin.c lists them), and the VAE parts that
 * vae_elbo and joint_kl share. */
#ifndef GM_MODELS_OBJECTIVES_H
#define GM_MODELS_OBJECTIVES_H

#include "gm/objective.h"
#include "gm/vae_eval.h"

extern const gm_objective gm_objective_vae_elbo;
extern const gm_objective gm_objective_joint_kl;
extern const gm_objective gm_objective_gan;
extern const gm_objective gm_objective_gan_data_prior;
extern const gm_objective gm_objective_aae;
extern const gm_objective gm_objective_ali;
extern const gm_objective gm_objective_classifier;

/* An encoder q(z|x) = N(mu, exp(logvar)), a reparameterised z and a
 * decoder p(x|z), wired in one graph with the ELBO's terms:
 *   recon_nll = mean over the batch of -log p(x|z)       (metric recon_nll)
 *   kl        = mean over the batch of KL(q(z|x)||p(z))  (metric kl_qz_pz)
 *   elbo      = -(recon_nll + kl)                        (metric elbo)
 * With the hyperparameter posterior: deterministic (vae_elbo's plain
 * autoencoder) z = mu(x), and kl_elem, kl and elbo are NULL. */
typedef struct gm_vae_parts {
    gm_graph *graph;
    gm_node *x, *mu, *logvar, *z, *decoded;
    gm_node *recon_elem; /* [batch, data_dim]: -log p(x_j | z) */
    gm_node *kl_elem;    /* [batch, latent]: KL per latent dimension */
    gm_node *recon_nll, *kl, *elbo;
    gm_params *groups[2]; /* encoder, decoder */
    gm_net encoder, decoder;
    bool bernoulli;
    bool deterministic; /* z = mu(x): no noise, no KL term or metric */
    float fixed_logvar; /* gaussian with fixed sigma: 2 log sigma */
    int decoder_logvar; /* learned log-variance view, or -1 */
} gm_vae_parts;

gm_status gm_vae_build_parts(gm_model *m, const gm_build_ctx *ctx,
                             gm_vae_parts *p, gm_error *err);

/* The VAE's network roles (encoder, decoder) and their shapes. */
extern const char *const gm_vae_roles[2];
extern const gm_role_shape gm_vae_shapes[2];

/* q(z|x) for x [rows, data_dim] in g: the encoder's mu and logvar, and
 * z = mu + exp(logvar / 2) * eps with eps a noise node named "eps", or
 * z = mu for a deterministic encoder. */
typedef struct gm_vae_posterior {
    gm_node *mu, *logvar, *z;
} gm_vae_posterior;

gm_vae_posterior gm_vae_encode(gm_graph *g, const gm_vae_parts *p, gm_node *x,
                               gm_rng *noise);

/* Per element -log p(x | decoded) under the model's likelihood. */
gm_node *gm_vae_recon_elements(gm_graph *g, const gm_vae_parts *p, gm_node *x,
                               gm_node *decoded);

/* The VAE's sampler: z ~ N(0, I), then the decoder's mean (plus the
 * observation noise if sample_noise is set). */
gm_status gm_vae_set_sampler(gm_model *m, const gm_build_ctx *ctx,
                             const gm_vae_parts *p, gm_error *err);

/* The likelihood hyperparameters both VAE objectives take. */
extern const char *const gm_vae_likelihoods[];
#define GM_VAE_LIKELIHOOD_HPARAMS                                              \
    {.name = "likelihood",                                                     \
     .type = GM_HP_CHOICE,                                                     \
     .choices = gm_vae_likelihoods,                                            \
     .def_choice = "gaussian",                                                 \
     .doc = "p(x|z): gaussian or bernoulli (logits)"},                         \
        {.name = "sigma",                                                      \
         .type = GM_HP_FLOAT,                                                  \
         .def = 1.0,                                                           \
         .min = 1e-4,                                                          \
         .max = 1e4,                                                           \
         .doc = "fixed std of the gaussian likelihood"},                       \
        {.name = "learn_sigma",                                                \
         .type = GM_HP_BOOL,                                                   \
         .def = 0,                                                             \
         .doc = "learn one gaussian log-variance per data dimension"},         \
    {                                                                          \
        .name = "sample_noise", .type = GM_HP_BOOL, .def = 0,                  \
        .doc = "samples add the gaussian observation noise to the mean"        \
    }

#define GM_NATS_PER_EXAMPLE "nats per example"

/* Rows of a schema's metrics (gm_objective_schema.metrics): the ELBO's
 * terms on the training batches, which gm_vae_build_parts logs (vae_elbo,
 * joint_kl, aae). Both VAE objectives add the held-out evaluation's
 * (GM_VAE_EVAL_METRIC_ROWS), whose log_px is iwae_logpx. */
#define GM_VAE_PARTS_METRICS                                                   \
    {"elbo", GM_NATS_PER_EXAMPLE, GM_BETTER_HIGHER},                           \
        {"recon_nll", GM_NATS_PER_EXAMPLE, GM_BETTER_LOWER},                   \
        {"kl_qz_pz", GM_NATS_PER_EXAMPLE, GM_BETTER_NEITHER}

/* The held-out evaluation (gm/vae_eval.h) of the parts' networks. */
gm_vae_eval_spec gm_vae_parts_eval_spec(const gm_vae_parts *p,
                                        const gm_build_ctx *ctx);

#endif
