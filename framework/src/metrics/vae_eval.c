/* The held-out evaluation of a Gaussian encoder and its decoder
 * (gm/vae_eval.h, docs/metrics.md):
 *   distortion    mean -log p(x|z), z one draw from q(z|x) (z = mu(x) for
 *                 the deterministic encoder), nats per row
 *   rate          mean KL(q(z|x) || p(z)), closed form, nats per row
 *   elbo_eval     -(distortion + rate)
 *   iwae_logpx    mean log (1/K) sum_k p(x, z_k) / q(z_k|x) (Burda et al.)
 *                 on the first iwae_rows rows, which tends to log p(x) as
 *                 K grows
 *   posterior_gap iwae_logpx minus the ELBO on the same rows and draws, an
 *                 estimate of KL(q(z|x) || p(z|x))
 *   active_units  latent dimensions with Cov_x E_q[z_u] > 0.01 (Burda et
 *                 al.)
 *   marginal_kl   KL(q(z) || p(z)), q(z) the mixture of the rows'
 *                 posteriors (gm/aggregate_kl.h)
 *   mutual_info   I_q(x; z) = rate - marginal_kl (Hoffman and Johnson)
 *   recon_mse     mean ||x - dec(mu(x))||^2 (the decoder's mean, sigmoid of
 *                 its logits for bernoulli), as aae and ali report it
 *   kl_agg_qz_pz  the Gaussian-moment bound on KL(q(z) || p(z)), as aae
 *                 and ali report it (gm_gaussian_moment_kl)
 *   kl_per_dim    the vector of each latent dimension's mean KL.
 * A deterministic encoder has no density, so only distortion and
 * active_units. Two graphs: the posterior pass encodes every row once and
 * keeps mu, logvar and z; the importance-weighted pass decodes K draws per
 * row from the kept posteriors (the encoder is not run again). */
#include "gm/vae_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm/aggregate_kl.h"
#include "gm/ops.h"

/* Rows per forward of the posterior pass. */
#define POSTERIOR_BATCH 1000
/* Rows per forward of the importance-weighted pass: chunk rows, each
 * repeated K times. */
#define IWAE_BATCH 4096

static const char *const gaussian_metrics[] = {
    "distortion",   "rate",        "elbo_eval",   "iwae_logpx", "posterior_gap",
    "active_units", "mutual_info", "marginal_kl", "recon_mse",  "kl_agg_qz_pz"};
#define GAUSSIAN_METRICS                                                       \
    (int)(sizeof gaussian_metrics / sizeof *gaussian_metrics)
static const char *const deterministic_metrics[] = {"distortion",
                                                    "active_units"};
static const char *const vectors[] = {"kl_per_dim"};

struct gm_vae_eval {
    gm_vae_eval_spec spec;
    float fixed_logvar; /* gaussian with a fixed sigma: 2 log sigma */
    int decoder_logvar; /* the learned log-variance's view, or -1 */
    int k, iwae_rows, dim, latent;
    int rows; /* the held-out rows it was built for */
    /* the posterior pass: x [post_chunk, dim] -> one draw per row */
    gm_graph *post;
    gm_node *post_x, *post_mu, *post_lv, *post_z;
    gm_node *post_nll; /* [post_chunk]: -log p(x|z) */
    gm_node *post_kl;  /* [post_chunk, latent], NULL if deterministic */
    gm_node *post_sq;  /* [post_chunk]: ||x - dec(mu)||^2, NULL if so too */
    int post_chunk;
    /* the importance-weighted pass: [iw_chunk * k] draws */
    gm_graph *iw;
    gm_node *iw_x, *iw_mu, *iw_lv, *iwae, *iw_elbo;
    int iw_chunk;
    float *z_mu, *z_lv, *z; /* [rows, latent] each, of the last pass */
    double *kl_dim, *mu_sum, *mu_sq, *var_sum; /* [latent] each */
    double *work;                              /* for gm_aggregate_kl */
};

static gm_node *per_row(gm_graph *g, gm_node *x) {
    return gm_sum(g, x, GM_AXIS_PER_ROW);
}

static gm_status graph_done(gm_graph *g, gm_error *err) {
    if (gm_graph_error(g)) {
        *err = *gm_graph_error(g);
        return err->status;
    }
    return gm_graph_compile(g, err);
}

static gm_graph *frozen_graph(const char *name, const gm_vae_eval_spec *p) {
    gm_graph *g = gm_graph_create(name);
    if (!g) return NULL;
    gm_graph_freeze(g, p->encoder->params);
    gm_graph_freeze(g, p->decoder->params);
    gm_graph_set_training(g, false); /* batch norm: running statistics */
    gm_graph_set_forward_only(g);
    return g;
}

/* Per element -log p(x | decoded) under the likelihood. */
static gm_node *recon_elements(gm_graph *g, const gm_vae_eval *e, gm_node *x,
                               gm_node *decoded) {
    if (e->spec.likelihood == GM_LIKELIHOOD_BERNOULLI)
        return gm_bce_with_logits(g, decoded, x);
    if (e->decoder_logvar >= 0)
        return gm_gaussian_nll(
            g, x, decoded,
            gm_param(g, e->spec.decoder->params, e->decoder_logvar));
    return gm_gaussian_nll_fixed(g, x, decoded, e->fixed_logvar);
}

/* q(z|x): mu, logvar and z = mu + exp(logvar / 2) * eps, eps a noise node
 * named "eps" (z = mu if deterministic). */
static void encode(gm_vae_eval *e, gm_graph *g, gm_rng *noise) {
    int latent = e->latent;
    gm_node *h = gm_net_forward(g, e->spec.encoder, e->post_x);
    /* kept: read after the forward-only graph has run */
    e->post_mu = gm_node_keep(gm_slice_cols(g, h, 0, latent));
    e->post_lv = gm_node_keep(gm_slice_cols(g, h, latent, latent));
    e->post_z = e->post_mu;
    if (e->spec.deterministic) return;
    gm_node *eps =
        gm_randn(g, "eps", (int[]){e->post_chunk, latent}, 2, noise);
    gm_node *sigma = gm_exp(g, gm_scale(g, e->post_lv, 0.5f));
    e->post_z = gm_node_keep(gm_add(g, e->post_mu, gm_mul(g, sigma, eps)));
}

/* x [chunk, dim] -> mu, logvar, z, -log p(x|z) per row, KL per element. */
static gm_status build_posterior(gm_vae_eval *e, const gm_build_ctx *ctx,
                                 gm_error *err) {
    const gm_vae_eval_spec *p = &e->spec;
    gm_graph *g = e->post = frozen_graph("vae_eval_posterior", p);
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    e->post_x = gm_input(g, "x", (int[]){e->post_chunk, e->dim}, 2);
    encode(e, g, ctx->noise);
    gm_node *decoded = gm_net_forward(g, p->decoder, e->post_z);
    e->post_nll =
        gm_node_keep(per_row(g, recon_elements(g, e, e->post_x, decoded)));
    if (!p->deterministic) {
        e->post_kl = gm_node_keep(gm_kl_normal_std(g, e->post_mu, e->post_lv));
        gm_node *mean = gm_net_forward(g, p->decoder, e->post_mu);
        if (p->likelihood == GM_LIKELIHOOD_BERNOULLI)
            mean = gm_sigmoid(g, mean);
        e->post_sq = gm_node_keep(
            per_row(g, gm_square(g, gm_sub(g, e->post_x, mean))));
    }
    return graph_done(g, err);
}

/* x, mu, logvar [chunk * K, ...] -> the IWAE bound per row and the ELBO
 * per draw. */
static gm_status build_iwae(gm_vae_eval *e, const gm_build_ctx *ctx,
                            gm_error *err) {
    int n = e->iw_chunk * e->k, latent = e->latent;
    gm_graph *g = e->iw = frozen_graph("vae_eval_iwae", &e->spec);
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    e->iw_x = gm_input(g, "x", (int[]){n, e->dim}, 2);
    e->iw_mu = gm_input(g, "mu", (int[]){n, latent}, 2);
    e->iw_lv = gm_input(g, "logvar", (int[]){n, latent}, 2);
    gm_node *eps = gm_randn(g, "eps", (int[]){n, latent}, 2, ctx->noise);
    gm_node *sigma = gm_exp(g, gm_scale(g, e->iw_lv, 0.5f));
    gm_node *z = gm_add(g, e->iw_mu, gm_mul(g, sigma, eps));
    gm_node *decoded = gm_net_forward(g, e->spec.decoder, z);
    gm_node *nll_x = /* -log p(x|z) */
        per_row(g, recon_elements(g, e, e->iw_x, decoded));
    gm_node *nll_q = per_row(g, gm_gaussian_nll(g, z, e->iw_mu, e->iw_lv));
    gm_node *nll_p =
        per_row(g, gm_gaussian_nll_fixed(g, z, gm_scalar(g, 0.0f), 0.0f));
    /* log w = log p(x|z) + log p(z) - log q(z|x) */
    gm_node *log_w = gm_sub(g, nll_q, gm_add(g, nll_x, nll_p));
    gm_node *lse = gm_logsumexp_rows(
        g, gm_reshape(g, log_w, (int[]){e->iw_chunk, e->k}, 2));
    e->iwae = gm_node_keep(gm_add_scalar(g, lse, -logf((float)e->k)));
    e->iw_elbo = gm_node_keep(
        gm_neg(g, gm_add(g, nll_x,
                         per_row(g, gm_kl_normal_std(g, e->iw_mu, e->iw_lv)))));
    return graph_done(g, err);
}

static gm_status alloc_buffers(gm_vae_eval *e, gm_error *err) {
    size_t cells = (size_t)e->rows * e->latent;
    e->z_mu = malloc(3 * cells * sizeof *e->z_mu);
    e->kl_dim = calloc((size_t)4 * e->latent, sizeof *e->kl_dim);
    if (!e->spec.deterministic)
        e->work = malloc(gm_aggregate_kl_workspace(e->rows, e->latent) *
                         sizeof *e->work);
    if (!e->z_mu || !e->kl_dim || (!e->spec.deterministic && !e->work))
        return gm_error_set(err, GM_ERR_NOMEM,
                            "out of memory for the evaluation of %d held-out "
                            "rows",
                            e->rows);
    e->z_lv = e->z_mu + cells;
    e->z = e->z_lv + cells;
    e->mu_sum = e->kl_dim + e->latent;
    e->mu_sq = e->mu_sum + e->latent;
    e->var_sum = e->mu_sq + e->latent;
    return GM_OK;
}

/* Checks the spec against the context; GM_OK or err set. */
static gm_status check_spec(const gm_vae_eval_spec *p, const gm_build_ctx *ctx,
                            gm_error *err) {
    const char *bad = NULL;
    if (!p->encoder || !p->decoder)
        bad = "needs both an encoder and a decoder";
    else if (p->latent < 1 || p->encoder->out != 2 * p->latent)
        bad = "the encoder must give 2 x latent columns (mu, logvar)";
    else if (p->encoder->in != ctx->data_dim)
        bad = "the encoder's input must be the data's dimension";
    else if (p->decoder->in != p->latent ||
             p->decoder->out != ctx->data_dim)
        bad = "the decoder must map latent columns to the data's dimension";
    else if (p->likelihood != GM_LIKELIHOOD_GAUSSIAN &&
             p->likelihood != GM_LIKELIHOOD_BERNOULLI)
        bad = "likelihood is neither gaussian nor bernoulli";
    else if (p->likelihood == GM_LIKELIHOOD_GAUSSIAN && !p->learned_logvar &&
             !(p->sigma > 0.0 && isfinite(p->sigma)))
        bad = "a gaussian likelihood needs sigma > 0 or learned_logvar";
    else if (p->iwae_k < 0 || p->iwae_k > 4096 || p->iwae_rows < 0)
        bad = "iwae_k must be in 0..4096 and iwae_rows >= 0";
    if (!bad) return GM_OK;
    return gm_error_set(err, GM_ERR_INVALID,
                        "model '%s': VAE evaluation: %s (encoder %d -> %d, "
                        "decoder %d -> %d, latent %d, data %d)",
                        ctx->spec->name, bad, p->encoder ? p->encoder->in : 0,
                        p->encoder ? p->encoder->out : 0,
                        p->decoder ? p->decoder->in : 0,
                        p->decoder ? p->decoder->out : 0, p->latent,
                        ctx->data_dim);
}

/* The learned log-variance's view of the decoder's group, or -1. */
static gm_status find_logvar(gm_vae_eval *e, const gm_vae_eval_spec *p,
                             const gm_build_ctx *ctx, gm_error *err) {
    e->decoder_logvar = -1;
    if (p->likelihood != GM_LIKELIHOOD_GAUSSIAN || !p->learned_logvar)
        return GM_OK;
    e->decoder_logvar = gm_params_find(p->decoder->params, p->learned_logvar);
    if (e->decoder_logvar >= 0) return GM_OK;
    return gm_error_set(err, GM_ERR_INVALID,
                        "model '%s': VAE evaluation: the decoder has no "
                        "parameter '%s' (learned_logvar)",
                        ctx->spec->name, p->learned_logvar);
}

gm_status gm_vae_eval_create(gm_vae_eval **out, const gm_vae_eval_spec *spec,
                             const gm_build_ctx *ctx, gm_error *err) {
    *out = NULL;
    gm_status s = check_spec(spec, ctx, err);
    if (s != GM_OK) return s;
    gm_vae_eval *e = calloc(1, sizeof *e);
    if (!e) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    e->spec = *spec;
    e->fixed_logvar = (float)(2.0 * log(spec->sigma));
    e->k = spec->iwae_k > 0 ? spec->iwae_k : 64;
    e->iwae_rows = spec->iwae_rows;
    e->dim = ctx->data_dim;
    e->latent = spec->latent;
    e->rows = ctx->eval_rows > 0 ? ctx->eval_rows : 1;
    e->post_chunk = e->rows < POSTERIOR_BATCH ? e->rows : POSTERIOR_BATCH;
    e->iw_chunk = IWAE_BATCH / e->k > 0 ? IWAE_BATCH / e->k : 1;
    if (e->iw_chunk > e->rows) e->iw_chunk = e->rows;
    s = find_logvar(e, spec, ctx, err);
    if (s == GM_OK) s = build_posterior(e, ctx, err);
    if (s == GM_OK && !e->spec.deterministic) s = build_iwae(e, ctx, err);
    if (s == GM_OK) s = alloc_buffers(e, err);
    /* The networks are read while building only: the graphs hold what
     * they need. */
    e->spec.encoder = e->spec.decoder = NULL;
    e->spec.learned_logvar = NULL;
    if (s != GM_OK) {
        gm_vae_eval_free(e);
        return s;
    }
    *out = e;
    return GM_OK;
}

void gm_vae_eval_name_outputs(const gm_vae_eval *e, gm_hooks *h) {
    if (e->spec.deterministic) {
        h->eval_metrics = deterministic_metrics;
        h->n_eval_metrics = 2;
        return;
    }
    h->eval_metrics = gaussian_metrics;
    h->n_eval_metrics = GAUSSIAN_METRICS;
    h->eval_vectors = vectors;
    h->eval_vector_lens = &e->latent;
    h->n_eval_vectors = 1;
}

void gm_vae_eval_hooks(gm_vae_eval *e, gm_hooks *h) {
    h->state = e;
    h->free_state = gm_vae_eval_free;
    h->evaluate = gm_vae_evaluate;
    h->save_state = gm_vae_eval_save;
    h->load_state = gm_vae_eval_load;
    gm_vae_eval_name_outputs(e, h);
}

void gm_vae_eval_free(void *eval) {
    gm_vae_eval *e = eval;
    if (!e) return;
    gm_graph_free(e->post);
    gm_graph_free(e->iw);
    free(e->z_mu);
    free(e->kl_dim);
    free(e->work);
    free(e);
}

/* Copies rows [start, start + rows) of src [n, width] into dst [chunk,
 * width], each `repeat` times; a short last chunk repeats the first row
 * (its results are not counted). */
static void fill_rows(float *dst, const float *src, int start, int rows,
                      int chunk, int repeat, int width) {
    size_t bytes = (size_t)width * sizeof(float);
    for (int i = 0; i < chunk; i++)
        for (int k = 0; k < repeat; k++)
            memcpy(dst + ((size_t)i * repeat + k) * width,
                   src + (size_t)(start + (i < rows ? i : 0)) * width, bytes);
}

/* The posterior pass over every row: distortion and rate sums, the KL per
 * dimension, the posteriors' moments, the squared error of the decoded
 * means (into *sq_err); keeps mu, logvar and z. */
static double posterior_pass(gm_vae_eval *e, const float *data, int n,
                             double *sq_err) {
    int L = e->latent;
    double distortion = 0.0;
    *sq_err = 0.0;
    memset(e->kl_dim, 0, (size_t)4 * L * sizeof *e->kl_dim);
    for (int start = 0; start < n; start += e->post_chunk) {
        int rows = n - start < e->post_chunk ? n - start : e->post_chunk;
        fill_rows(gm_node_data(e->post_x), data, start, rows, e->post_chunk, 1,
                  e->dim);
        gm_graph_forward(e->post);
        const float *nll = gm_node_data(e->post_nll);
        const float *mu = gm_node_data(e->post_mu);
        const float *kl = e->post_kl ? gm_node_data(e->post_kl) : NULL;
        const float *lv = gm_node_data(e->post_lv);
        const float *sq = e->post_sq ? gm_node_data(e->post_sq) : NULL;
        size_t cells = (size_t)rows * L, at = (size_t)start * L;
        memcpy(e->z_mu + at, mu, cells * sizeof(float));
        memcpy(e->z_lv + at, lv, cells * sizeof(float));
        memcpy(e->z + at, gm_node_data(e->post_z), cells * sizeof(float));
        for (int i = 0; i < rows; i++) {
            distortion += nll[i];
            if (sq) *sq_err += sq[i];
            for (int u = 0; u < L; u++) {
                double m = mu[(size_t)i * L + u];
                e->mu_sum[u] += m;
                e->mu_sq[u] += m * m;
                if (kl) {
                    e->kl_dim[u] += kl[(size_t)i * L + u];
                    e->var_sum[u] += exp(lv[(size_t)i * L + u]);
                }
            }
        }
    }
    return distortion / n;
}

/* The IWAE bound and the ELBO on the same draws, over the first `n` rows
 * of the posterior pass. */
static void iwae_pass(gm_vae_eval *e, const float *data, int n, double *iwae,
                      double *elbo) {
    double iw_sum = 0.0, elbo_sum = 0.0;
    for (int start = 0; start < n; start += e->iw_chunk) {
        int rows = n - start < e->iw_chunk ? n - start : e->iw_chunk;
        fill_rows(gm_node_data(e->iw_x), data, start, rows, e->iw_chunk, e->k,
                  e->dim);
        fill_rows(gm_node_data(e->iw_mu), e->z_mu, start, rows, e->iw_chunk,
                  e->k, e->latent);
        fill_rows(gm_node_data(e->iw_lv), e->z_lv, start, rows, e->iw_chunk,
                  e->k, e->latent);
        gm_graph_forward(e->iw);
        const float *iw = gm_node_data(e->iwae), *el = gm_node_data(e->iw_elbo);
        for (int i = 0; i < rows; i++) {
            iw_sum += iw[i];
            for (int k = 0; k < e->k; k++)
                elbo_sum += el[i * e->k + k] / e->k;
        }
    }
    *iwae = iw_sum / n;
    *elbo = elbo_sum / n;
}

gm_status gm_vae_evaluate(void *eval, const float *data, const int *labels,
                          int n, double *out, gm_error *err) {
    (void)labels;
    gm_vae_eval *e = eval;
    if (n < 1 || n > e->rows)
        return gm_error_set(err, GM_ERR_INVALID,
                            "the VAE evaluation was built for 1..%d held-out "
                            "rows, got %d",
                            e->rows, n);
    double sq_err;
    double distortion = posterior_pass(e, data, n, &sq_err);
    int active = 0;
    for (int u = 0; u < e->latent; u++) {
        double mean = e->mu_sum[u] / n;
        active += e->mu_sq[u] / n - mean * mean > 0.01;
    }
    out[0] = distortion;
    if (e->spec.deterministic) {
        out[1] = active;
        return GM_OK;
    }
    double rate = 0.0;
    for (int u = 0; u < e->latent; u++) {
        e->kl_dim[u] /= n;
        rate += e->kl_dim[u];
        out[GAUSSIAN_METRICS + u] = e->kl_dim[u]; /* the vector kl_per_dim */
    }
    int iw_rows = e->iwae_rows > 0 && e->iwae_rows < n ? e->iwae_rows : n;
    double iwae, elbo_iw;
    iwae_pass(e, data, iw_rows, &iwae, &elbo_iw);
    double marginal =
        gm_aggregate_kl(e->z_mu, e->z_lv, e->z, n, e->latent, e->work);
    out[1] = rate;
    out[2] = -(distortion + rate);
    out[3] = iwae;
    out[4] = iwae - elbo_iw;
    out[5] = active;
    out[6] = rate - marginal;
    out[7] = marginal;
    out[8] = sq_err / n;
    out[9] =
        gm_gaussian_moment_kl(e->mu_sum, e->mu_sq, e->var_sum, e->latent, n);
    return GM_OK;
}

gm_status gm_vae_eval_save(const void *eval, gm_state *out, const char *prefix,
                           gm_error *err) {
    const gm_vae_eval *e = eval;
    char name[512];
    snprintf(name, sizeof name, "%s/eval_rng", prefix);
    gm_status s = gm_graph_save_state(e->post, out, name, err);
    snprintf(name, sizeof name, "%s/eval_iwae_rng", prefix);
    if (s == GM_OK && e->iw) s = gm_graph_save_state(e->iw, out, name, err);
    return s;
}

gm_status gm_vae_eval_load(void *eval, const gm_state *in, const char *prefix,
                           gm_error *err) {
    gm_vae_eval *e = eval;
    char name[512];
    snprintf(name, sizeof name, "%s/eval_rng", prefix);
    gm_status s = gm_graph_load_state(e->post, in, name, err);
    snprintf(name, sizeof name, "%s/eval_iwae_rng", prefix);
    if (s == GM_OK && e->iw) s = gm_graph_load_state(e->iw, in, name, err);
    return s;
}

double gm_gaussian_moment_kl(const double *mu_sum, const double *mu_sq,
                             const double *var_sum, int latent, int n) {
    double kl = 0.0;
    for (int u = 0; u < latent; u++) {
        double m = mu_sum[u] / n;
        double v = var_sum[u] / n + fmax(mu_sq[u] / n - m * m, 0.0);
        kl += 0.5 * (v + m * m - 1.0 - log(v));
    }
    return kl;
}
