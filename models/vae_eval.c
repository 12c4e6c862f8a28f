/* The VAE's evaluation on held-out rows: the importance-weighted bound
 *   iwae_logpx = mean_x log (1/K) sum_k p(x, z_k) / q(z_k|x),  z_k ~ q(z|x)
 * (Burda et al.), which tends to log p(x) as K grows; the ELBO on the same
 * rows (closed-form KL, averaged over the K draws); their difference
 * posterior_gap, an estimate of KL(q(z|x) || p(z|x)); and active_units,
 * the latent dimensions whose posterior mean varies across x
 * (Cov_x E_q[z_u] > 0.01, Burda et al.). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gm/ops.h"
#include "models.h"

/* Rows per forward: chunk data rows, each repeated K times. */
#define EVAL_BATCH 4096

const char *const gm_vae_eval_metrics[GM_VAE_EVAL_METRICS] = {
    "iwae_logpx", "elbo_eval", "posterior_gap", "active_units"};

static gm_node *per_row(gm_graph *g, gm_node *x) {
    return gm_sum(g, x, GM_AXIS_PER_ROW);
}

gm_status gm_vae_eval_build(gm_vae_eval *e, const gm_vae_parts *p,
                            const gm_build_ctx *ctx, gm_error *err) {
    memset(e, 0, sizeof *e);
    int k = (int)gm_hparams_number(&ctx->spec->params, "iwae_k", 64);
    e->k = k;
    e->chunk = EVAL_BATCH / k > 0 ? EVAL_BATCH / k : 1;
    e->dim = ctx->data_dim;
    e->latent = ctx->spec->latent_dim;
    int n = e->chunk * k;
    gm_graph *g = e->graph = gm_graph_create("vae_eval");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->groups[0]);
    gm_graph_freeze(g, p->groups[1]);
    gm_graph_set_training(g, false); /* batch norm: running statistics */
    e->x = gm_input(g, "x", (int[]){n, e->dim}, 2);
    gm_vae_posterior q = gm_vae_encode(g, p, e->x, ctx->noise);
    gm_node *z = q.z, *lv = q.logvar;
    e->mu = q.mu;
    gm_node *decoded = gm_mlp_forward(g, &p->decoder, z);
    gm_node *nll_x = /* -log p(x|z) */
        per_row(g, gm_vae_recon_elements(g, p, e->x, decoded));
    gm_node *nll_q = per_row(g, gm_gaussian_nll(g, z, e->mu, lv));
    gm_node *nll_p =
        per_row(g, gm_gaussian_nll_fixed(g, z, gm_scalar(g, 0.0f), 0.0f));
    /* log w = log p(x|z) + log p(z) - log q(z|x) */
    gm_node *log_w = gm_sub(g, nll_q, gm_add(g, nll_x, nll_p));
    gm_node *lse =
        gm_logsumexp_rows(g, gm_reshape(g, log_w, (int[]){e->chunk, k}, 2));
    e->iwae = gm_add_scalar(g, lse, -logf((float)k));
    e->elbo =
        gm_neg(g, gm_add(g, nll_x, per_row(g, gm_kl_normal_std(g, e->mu, lv))));
    if (gm_graph_error(g)) {
        *err = *gm_graph_error(g);
        return err->status;
    }
    gm_status s = gm_graph_compile(g, err);
    if (s != GM_OK) return s;
    e->mu_sum = calloc((size_t)2 * e->latent, sizeof *e->mu_sum);
    if (!e->mu_sum) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    e->mu_sq = e->mu_sum + e->latent;
    return GM_OK;
}

void gm_vae_eval_clear(gm_vae_eval *e) {
    gm_graph_free(e->graph);
    free(e->mu_sum);
    memset(e, 0, sizeof *e);
}

gm_status gm_vae_evaluate(gm_vae_eval *e, const float *data, int n, double *out,
                          gm_error *err) {
    (void)err;
    double iwae = 0.0, elbo = 0.0;
    memset(e->mu_sum, 0, (size_t)2 * e->latent * sizeof *e->mu_sum);
    float *x = gm_node_data(e->x);
    size_t row = (size_t)e->dim * sizeof(float);
    for (int start = 0; start < n; start += e->chunk) {
        int rows = n - start < e->chunk ? n - start : e->chunk;
        /* A short last chunk repeats its first row; those results are
         * not counted. */
        for (int i = 0; i < e->chunk; i++)
            for (int k = 0; k < e->k; k++)
                memcpy(x + ((size_t)i * e->k + k) * e->dim,
                       data + (size_t)(start + (i < rows ? i : 0)) * e->dim,
                       row);
        gm_graph_forward(e->graph);
        const float *iw = gm_node_data(e->iwae), *el = gm_node_data(e->elbo);
        const float *mu = gm_node_data(e->mu);
        for (int i = 0; i < rows; i++) {
            iwae += iw[i];
            for (int k = 0; k < e->k; k++)
                elbo += el[i * e->k + k] / e->k;
            for (int u = 0; u < e->latent; u++) {
                double m = mu[(size_t)i * e->k * e->latent + u];
                e->mu_sum[u] += m;
                e->mu_sq[u] += m * m;
            }
        }
    }
    int active = 0;
    for (int u = 0; u < e->latent; u++) {
        double mean = e->mu_sum[u] / n;
        active += e->mu_sq[u] / n - mean * mean > 0.01;
    }
    out[0] = iwae / n;
    out[1] = elbo / n;
    out[2] = out[0] - out[1];
    out[3] = active;
    return GM_OK;
}

gm_status gm_vae_eval_save(const gm_vae_eval *e, gm_state *out,
                           const char *prefix, gm_error *err) {
    char name[512];
    snprintf(name, sizeof name, "%s/eval_rng", prefix);
    return gm_graph_save_state(e->graph, out, name, err);
}

gm_status gm_vae_eval_load(gm_vae_eval *e, const gm_state *in,
                           const char *prefix, gm_error *err) {
    char name[512];
    snprintf(name, sizeof name, "%s/eval_rng", prefix);
    return gm_graph_load_state(e->graph, in, name, err);
}
