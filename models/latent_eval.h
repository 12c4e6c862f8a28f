/* Held-out evaluation of a model with an encoder q(z|x) = N(mu,
 * exp(logvar)) and a decoder or generator x(z), shared by aae and ali:
 *   recon_mse     mean over rows of ||x - dec(mu(x))||^2, the
 *                 reconstruction error x -> E -> G (posterior mean; the
 *                 sigmoid of a decoder that gives Bernoulli logits);
 *   kl_agg_qz_pz  KL(N(m, diag v) || N(0, I)) for the moments m, v of
 *                 the aggregate posterior q(z) = E_x q(z|x) (exact from
 *                 mu and logvar, no sampling): a lower bound on
 *                 KL(q(z) || p(z)), since a Gaussian has the largest
 *                 entropy for its moments.
 * It draws no noise, so it has no state to save. */
#ifndef GM_MODELS_LATENT_EVAL_H
#define GM_MODELS_LATENT_EVAL_H

#include "gm/objective.h"
#include "gm/vae_eval.h" /* gm_gaussian_moment_kl */

#define GM_LATENT_EVAL_METRICS 2
extern const char *const gm_latent_eval_metrics[GM_LATENT_EVAL_METRICS];

/* Their rows in a schema's metrics (gm_objective_schema.metrics). */
#define GM_LATENT_EVAL_METRIC_ROWS                                             \
    {"recon_mse", "squared data units", GM_BETTER_LOWER},                      \
        {"kl_agg_qz_pz", "nats", GM_BETTER_LOWER}

/* z = mu + exp(logvar / 2) * eps for x [rows, data_dim], eps a noise node
 * named `eps`; the encoder outputs (mu, logvar) side by side. */
typedef struct gm_gaussian_code {
    gm_node *mu, *logvar, *z;
} gm_gaussian_code;

gm_gaussian_code gm_gaussian_encode(gm_graph *g, const gm_net *encoder,
                                    gm_node *x, const char *eps, gm_rng *noise);

typedef struct gm_latent_eval {
    gm_graph *graph;
    gm_node *x, *mu, *logvar, *sq_err;
    int chunk, dim, latent;
    double *sums; /* [3 * latent]: mu, mu^2, exp(logvar) */
} gm_latent_eval;

/* Builds the evaluation graph over the encoder and decoder networks (each
 * in its group, frozen here); decoder_logits: the decoder gives the logits
 * of Bernoulli means, not x itself. */
gm_status gm_latent_eval_build(gm_latent_eval *e, const gm_net *encoder,
                               gm_params *encoder_group, const gm_net *decoder,
                               gm_params *decoder_group, bool decoder_logits,
                               int data_dim, int latent, gm_error *err);
void gm_latent_eval_free(void *e);

/* A gm_evaluate_fn: rows data [n, dim] into out[0..GM_LATENT_EVAL_METRICS). */
gm_status gm_latent_evaluate(void *e, const float *data, const int *labels,
                             int n, double *out, gm_error *err);

#endif
