/* The encoder's held-out evaluation (latent_eval.h). */
#include "latent_eval.h"

#include <math.h>
#include <string.h>

#include "gm/ops.h"

/* Rows per forward of the evaluation graph. */
#define EVAL_CHUNK 1024

const char *const gm_latent_eval_metrics[GM_LATENT_EVAL_METRICS] = {
    "recon_mse", "kl_agg_qz_pz"};

gm_gaussian_code gm_gaussian_encode(gm_graph *g, const gm_net *encoder,
                                    gm_node *x, const char *eps,
                                    gm_rng *noise) {
    int latent = encoder->out / 2, rows = gm_shape_rows(gm_node_shape(x));
    gm_node *h = gm_net_forward(g, encoder, x);
    gm_gaussian_code q;
    q.mu = gm_slice_cols(g, h, 0, latent);
    q.logvar = gm_slice_cols(g, h, latent, latent);
    gm_node *e = gm_randn(g, eps, (int[]){rows, latent}, 2, noise);
    gm_node *sigma = gm_exp(g, gm_scale(g, q.logvar, 0.5f));
    q.z = gm_add(g, q.mu, gm_mul(g, sigma, e));
    return q;
}

gm_status gm_latent_eval_build(gm_latent_eval *e, const gm_net *encoder,
                               gm_params *encoder_group, const gm_net *decoder,
                               gm_params *decoder_group, bool decoder_logits,
                               int data_dim, int latent, gm_error *err) {
    memset(e, 0, sizeof *e);
    e->chunk = EVAL_CHUNK;
    e->dim = data_dim;
    e->latent = latent;
    gm_graph *g = e->graph = gm_graph_create("latent_eval");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, encoder_group);
    gm_graph_freeze(g, decoder_group);
    gm_graph_set_training(g, false); /* batch norm: running statistics */
    e->x = gm_input(g, "x", (int[]){e->chunk, data_dim}, 2);
    gm_node *h = gm_net_forward(g, encoder, e->x);
    e->mu = gm_slice_cols(g, h, 0, latent);
    e->logvar = gm_slice_cols(g, h, latent, latent);
    gm_node *x_hat = gm_net_forward(g, decoder, e->mu);
    if (decoder_logits) x_hat = gm_sigmoid(g, x_hat);
    e->sq_err =
        gm_sum(g, gm_square(g, gm_sub(g, e->x, x_hat)), GM_AXIS_PER_ROW);
    if (gm_graph_error(g)) {
        *err = *gm_graph_error(g);
        return err->status;
    }
    gm_status s = gm_graph_compile(g, err);
    if (s != GM_OK) return s;
    e->sums = calloc((size_t)3 * latent, sizeof *e->sums);
    return e->sums ? GM_OK : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
}

void gm_latent_eval_free(void *p) {
    gm_latent_eval *e = p;
    if (!e) return;
    gm_graph_free(e->graph);
    free(e->sums);
    free(e);
}

gm_status gm_latent_evaluate(void *p, const float *data, const int *labels,
                             int n, double *out, gm_error *err) {
    (void)err, (void)labels;
    gm_latent_eval *e = p;
    int L = e->latent;
    double sq = 0.0, *mu_sum = e->sums, *mu_sq = mu_sum + L,
           *var_sum = mu_sq + L;
    memset(e->sums, 0, (size_t)3 * L * sizeof *e->sums);
    float *x = gm_node_data(e->x);
    size_t row = (size_t)e->dim * sizeof(float);
    for (int start = 0; start < n; start += e->chunk) {
        int rows = n - start < e->chunk ? n - start : e->chunk;
        /* A short last chunk repeats its first row; those rows are not
         * counted. */
        for (int i = 0; i < e->chunk; i++)
            memcpy(x + (size_t)i * e->dim,
                   data + (size_t)(start + (i < rows ? i : 0)) * e->dim, row);
        gm_graph_forward(e->graph);
        const float *err2 = gm_node_data(e->sq_err);
        const float *mu = gm_node_data(e->mu), *lv = gm_node_data(e->logvar);
        for (int i = 0; i < rows; i++) {
            sq += err2[i];
            for (int u = 0; u < L; u++) {
                double m = mu[(size_t)i * L + u];
                mu_sum[u] += m;
                mu_sq[u] += m * m;
                var_sum[u] += exp(lv[(size_t)i * L + u]);
            }
        }
    }
    out[0] = sq / n;
    out[1] = gm_gaussian_moment_kl(mu_sum, mu_sq, var_sum, L, n);
    return GM_OK;
}
