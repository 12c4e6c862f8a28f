/* joint_kl: the same encoder/decoder model as vae_elbo, trained by
 * minimising a Monte Carlo estimate of
 *   KL(q(x,z) || p(x,z)) = E_{p_data(x) q(z|x)}[log p_data(x) + log q(z|x)
 *                                                - log p(z) - log p(x|z)]
 * with log q(z|x) evaluated at the sampled z (not the closed-form KL).
 * Where the dataset's density is known (ring, grid), log p_data(x) is
 * included, so joint_kl is the KL itself in nats (>= 0); elsewhere it is
 * the KL minus the data entropy H(p_data), a constant. Either way
 * joint_kl = -elbo - H(p_data) up to Monte Carlo noise. */
#include <math.h>

#include "gm/data.h"
#include "gm/op.h"
#include "gm/ops.h"
#include "objectives.h"

static const gm_hparam_spec joint_hparams[] = {
    GM_VAE_LIKELIHOOD_HPARAMS,
    GM_VAE_EVAL_HPARAMS,
};

/* log p_data(x) per row [rows, 1], from the dataset's exact density. It
 * is a constant of the parameters: no backward. */
static gm_status log_density_shape(const gm_node *n, gm_shape *out,
                                   gm_error *err) {
    (void)err;
    const gm_shape *x = gm_node_shape(gm_node_input(n, 0));
    return gm_shape_make(out, (int[]){gm_shape_rows(x), 1}, 2) ? GM_OK
                                                               : GM_ERR_SHAPE;
}

static void log_density_forward(gm_node *n) {
    const gm_dataset *d = gm_node_user(n);
    gm_node *x = gm_node_input(n, 0);
    int cols = gm_shape_cols(gm_node_shape(x));
    for (size_t r = 0; r < gm_node_numel(n); r++)
        gm_node_data(n)[r] =
            (float)gm_dataset_log_density(d, gm_node_data(x) + r * cols);
}

static const gm_op_def log_density_op = {
    .name = "data_log_density",
    .arity = 1,
    .shape = log_density_shape,
    .forward = log_density_forward,
    .flags = GM_OP_STOP_GRAD,
};

static gm_node *metric(gm_node *n, const char *name) {
    return gm_node_set_role(gm_node_set_name(n, name), GM_ROLE_METRIC);
}

static gm_status joint_build(gm_model *m, const gm_build_ctx *ctx,
                             gm_error *err) {
    gm_vae_parts p;
    gm_status s = gm_vae_build_parts(m, ctx, &p, err);
    if (s != GM_OK) return s;
    gm_graph *g = p.graph;
    gm_vae_eval *eval;
    gm_vae_eval_spec spec = gm_vae_parts_eval_spec(&p, ctx);
    s = gm_vae_eval_create(&eval, &spec, ctx, err);
    if (s == GM_OK) {
        gm_hooks hooks = {0};
        gm_vae_eval_hooks(eval, &hooks);
        s = gm_model_set_hooks(m, &hooks, err);
    }
    if (s != GM_OK) {
        gm_graph_free(g);
        return s;
    }
    float per_example = 1.0f / (float)ctx->batch_size;
    /* log q(z|x) - log p(z) at the sampled z, summed over latent dims. */
    gm_node *nll_q = gm_gaussian_nll(g, p.z, p.mu, p.logvar);
    gm_node *nll_p = gm_gaussian_nll_fixed(g, p.z, gm_scalar(g, 0.0f), 0.0f);
    gm_node *log_ratio = gm_sub(g, nll_p, nll_q);
    gm_node *kl_mc =
        gm_scale(g, gm_sum(g, log_ratio, GM_AXIS_ALL), per_example);
    gm_node *loss = gm_add(g, p.recon_nll, kl_mc);
    bool with_density = ctx->data && gm_dataset_has_density(ctx->data);
    s = gm_model_set_attr(m, "joint_kl_includes_data_entropy", with_density,
                          err);
    if (s != GM_OK) {
        gm_graph_free(g);
        return s;
    }
    if (with_density) {
        gm_node *x = p.x;
        gm_node *logp = gm_custom(g, &log_density_op, &x, 1, NULL, 0);
        gm_node_set_user(logp, (void *)ctx->data);
        gm_node *mean_logp = gm_mean(g, logp, GM_AXIS_ALL);
        metric(gm_add(g, loss, mean_logp), "joint_kl");
        metric(gm_neg(g, mean_logp), "data_entropy");
    } else {
        metric(gm_add_scalar(g, loss, 0.0f), "joint_kl");
    }
    s = gm_model_add_phase(m, "joint_kl", g, loss, p.groups, 2, 1, err);
    return s == GM_OK ? gm_vae_set_sampler(m, ctx, &p, err) : s;
}

/* Held-out first, then the training objective itself. */
static const char *const joint_headline[] = {"elbo_eval", "iwae_logpx",
                                             "joint_kl"};

static const gm_metric_info joint_metrics[] = {
    GM_VAE_PARTS_METRICS,
    {"joint_kl", GM_NATS_PER_EXAMPLE, GM_BETTER_LOWER},
    {"data_entropy", GM_NATS_PER_EXAMPLE, GM_BETTER_NEITHER},
    GM_VAE_EVAL_METRIC_ROWS};

const gm_objective gm_objective_joint_kl = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "joint_kl",
               .summary = "VAE model fit by a Monte Carlo KL(q(x,z)||p(x,z))",
               .roles = gm_vae_roles,
               .n_roles = 2,
               .shapes = gm_vae_shapes,
               .hparams = joint_hparams,
               .n_hparams = sizeof joint_hparams / sizeof joint_hparams[0],
               .headline = joint_headline,
               .n_headline = sizeof joint_headline / sizeof joint_headline[0],
               .metrics = joint_metrics,
               .n_metrics = sizeof joint_metrics / sizeof joint_metrics[0],
               .log_px = "iwae_logpx"},
    .build = joint_build,
};
