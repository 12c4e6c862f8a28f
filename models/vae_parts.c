/* The VAE's encoder, reparameterisation, decoder and ELBO terms, shared by
 * vae_elbo and joint_kl. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "gm/ops.h"
#include "objectives.h"

const char *const gm_vae_likelihoods[] = {"gaussian", "bernoulli", NULL};
const char *const gm_vae_roles[] = {"encoder", "decoder"};
/* The encoder maps x to (mu, logvar), the decoder z to x. */
const gm_role_shape gm_vae_shapes[] = {
    {.in = {.data = 1}, .out = {.latent = 2}},
    {.in = {.latent = 1}, .out = {.data = 1}},
};

gm_node *gm_vae_recon_elements(gm_graph *g, const gm_vae_parts *p, gm_node *x,
                               gm_node *decoded) {
    if (p->bernoulli) return gm_bce_with_logits(g, decoded, x);
    if (p->decoder_logvar >= 0)
        return gm_gaussian_nll(g, x, decoded,
                               gm_param(g, p->groups[1], p->decoder_logvar));
    return gm_gaussian_nll_fixed(g, x, decoded, p->fixed_logvar);
}

gm_vae_posterior gm_vae_encode(gm_graph *g, const gm_vae_parts *p, gm_node *x,
                               gm_rng *noise) {
    int latent = p->encoder.out / 2, rows = gm_shape_rows(gm_node_shape(x));
    gm_node *h = gm_net_forward(g, &p->encoder, x);
    gm_vae_posterior q;
    q.mu = gm_slice_cols(g, h, 0, latent);
    q.logvar = gm_slice_cols(g, h, latent, latent);
    if (p->deterministic) {
        q.z = q.mu;
        return q;
    }
    gm_node *eps = gm_randn(g, "eps", (int[]){rows, latent}, 2, noise);
    gm_node *sigma = gm_exp(g, gm_scale(g, q.logvar, 0.5f));
    q.z = gm_add(g, q.mu, gm_mul(g, sigma, eps));
    return q;
}

/* The parts' graph error, if any (the graph then freed). */
static gm_status graph_status(gm_vae_parts *p, gm_error *err) {
    if (!gm_graph_error(p->graph)) return GM_OK;
    *err = *gm_graph_error(p->graph);
    gm_graph_free(p->graph);
    p->graph = NULL;
    return err->status;
}

gm_status gm_vae_build_parts(gm_model *m, const gm_build_ctx *ctx,
                             gm_vae_parts *p, gm_error *err) {
    memset(p, 0, sizeof *p);
    const gm_hparams *h = &ctx->spec->params;
    int d = ctx->data_dim, latent = ctx->spec->latent_dim, b = ctx->batch_size;
    if (latent < 1 || latent > INT_MAX / 2)
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': latent_dim must be in 1..%d (the "
                            "encoder outputs 2 x latent_dim), got %d",
                            ctx->spec->name, INT_MAX / 2, latent);
    p->bernoulli = gm_hparams_is(h, "likelihood", "bernoulli");
    /* vae_elbo has the plain autoencoder; joint_kl and aae share this code
     * without it. */
    p->deterministic = gm_hparams_declares(h, "posterior") &&
                       gm_hparams_is(h, "posterior", "deterministic");
    p->fixed_logvar = (float)(2.0 * log(gm_hparams_number(h, "sigma")));
    p->decoder_logvar = -1;

    p->groups[0] =
        gm_model_network(m, ctx, "encoder", d, 2 * latent, &p->encoder, err);
    if (!p->groups[0]) return err->status;
    p->groups[1] =
        gm_model_network(m, ctx, "decoder", latent, d, &p->decoder, err);
    if (!p->groups[1]) return err->status;
    if (!p->bernoulli && gm_hparams_number(h, "learn_sigma") != 0) {
        p->decoder_logvar =
            gm_params_add(p->groups[1], "logvar", (int[]){d}, 1, err);
        if (p->decoder_logvar < 0) return err->status;
        float *lv = gm_params_view_data(p->groups[1], p->decoder_logvar);
        for (int j = 0; j < d; j++)
            lv[j] = p->fixed_logvar;
    }

    gm_graph *g = p->graph = gm_graph_create(ctx->spec->name);
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    p->x = gm_input(g, "x", (int[]){b, d}, 2);
    gm_vae_posterior q = gm_vae_encode(g, p, p->x, ctx->noise);
    p->mu = gm_node_set_name(q.mu, "mu");
    p->logvar = gm_node_set_name(q.logvar, "logvar");
    p->z = p->deterministic ? p->mu : gm_node_set_name(q.z, "z");
    p->decoded =
        gm_node_set_name(gm_net_forward(g, &p->decoder, p->z), "x_hat");
    p->recon_elem = gm_vae_recon_elements(g, p, p->x, p->decoded);
    float per_example = 1.0f / (float)b;
    p->recon_nll = gm_node_set_role(
        gm_node_set_name(
            gm_scale(g, gm_sum(g, p->recon_elem, GM_AXIS_ALL), per_example),
            "recon_nll"),
        GM_ROLE_METRIC);
    if (p->deterministic) return graph_status(p, err);
    p->kl_elem = gm_kl_normal_std(g, p->mu, p->logvar);
    p->kl = gm_node_set_role(
        gm_node_set_name(
            gm_scale(g, gm_sum(g, p->kl_elem, GM_AXIS_ALL), per_example),
            "kl_qz_pz"),
        GM_ROLE_METRIC);
    p->elbo = gm_node_set_role(
        gm_node_set_name(gm_neg(g, gm_add(g, p->recon_nll, p->kl)), "elbo"),
        GM_ROLE_METRIC);
    return graph_status(p, err);
}

gm_vae_eval_spec gm_vae_parts_eval_spec(const gm_vae_parts *p,
                                        const gm_build_ctx *ctx) {
    const gm_hparams *h = &ctx->spec->params;
    return (gm_vae_eval_spec){
        .encoder = &p->encoder,
        .decoder = &p->decoder,
        .latent = ctx->spec->latent_dim,
        .likelihood =
            p->bernoulli ? GM_LIKELIHOOD_BERNOULLI : GM_LIKELIHOOD_GAUSSIAN,
        .sigma = gm_hparams_number(h, "sigma"),
        .learned_logvar = p->decoder_logvar >= 0 ? "logvar" : NULL,
        .deterministic = p->deterministic,
        .iwae_k = (int)gm_hparams_number(h, "iwae_k"),
        .iwae_rows = (int)gm_hparams_number(h, "iwae_rows")};
}

gm_status gm_vae_set_sampler(gm_model *m, const gm_build_ctx *ctx,
                             const gm_vae_parts *p, gm_error *err) {
    int n = ctx->sample_count, latent = ctx->spec->latent_dim;
    gm_graph *g = gm_graph_create("sampler");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_node *z = gm_randn(g, "z", (int[]){n, latent}, 2, ctx->noise);
    gm_node *out = gm_net_forward(g, &p->decoder, z);
    if (p->bernoulli) {
        out = gm_sigmoid(g, out);
    } else if (gm_hparams_number(&ctx->spec->params, "sample_noise")) {
        gm_node *eps =
            gm_randn(g, "obs_noise", (int[]){n, ctx->data_dim}, 2, ctx->noise);
        gm_node *std =
            p->decoder_logvar >= 0
                ? gm_exp(g, gm_scale(
                                g, gm_param(g, p->groups[1], p->decoder_logvar),
                                0.5f))
                : gm_scalar(g, expf(0.5f * p->fixed_logvar));
        out = gm_add(g, out, gm_mul_bcast(g, eps, std));
    }
    return gm_model_set_sampler(m, g, gm_node_set_name(out, "samples"), err);
}
