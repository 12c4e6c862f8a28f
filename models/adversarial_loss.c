/* The adversarial loss table. Logit losses use log D = -softplus(-s) and
 * log(1 - D) = -softplus(s), which stay finite however confident D is. */
#include "adversarial_loss.h"

#include <string.h>

#include "gm/ops.h"

static gm_node *mean(gm_graph *g, gm_node *x) {
    return gm_mean(g, x, GM_AXIS_ALL);
}

/* -E[log D] and -E[log(1 - D)] */
static gm_node *neg_log_d(gm_graph *g, gm_node *s) {
    return mean(g, gm_softplus(g, gm_neg(g, s)));
}
static gm_node *neg_log_1_minus_d(gm_graph *g, gm_node *s) {
    return mean(g, gm_softplus(g, s));
}
/* E[log(1 - D)] and E[log D]: minimax's generator maximises the
 * discriminator's loss. */
static gm_node *log_1_minus_d(gm_graph *g, gm_node *s) {
    return gm_neg(g, neg_log_1_minus_d(g, s));
}
static gm_node *log_d(gm_graph *g, gm_node *s) {
    return gm_neg(g, neg_log_d(g, s));
}

/* hinge: E[max(0, 1 - s)], E[max(0, 1 + s)]; the generator -E[s] (+E[s]
 * on real rows). */
static gm_node *hinge_real(gm_graph *g, gm_node *s) {
    return mean(g, gm_relu(g, gm_add_scalar(g, gm_neg(g, s), 1.0f)));
}
static gm_node *hinge_fake(gm_graph *g, gm_node *s) {
    return mean(g, gm_relu(g, gm_add_scalar(g, s, 1.0f)));
}
static gm_node *minus_score(gm_graph *g, gm_node *s) {
    return gm_neg(g, mean(g, s));
}
static gm_node *score(gm_graph *g, gm_node *s) { return mean(g, s); }

/* least squares (Mao et al.): real to 1, fake to 0; 0.5 E[(s - t)^2] */
static gm_node *half_sq_to(gm_graph *g, gm_node *s, float target) {
    gm_node *d = gm_add_scalar(g, s, -target);
    return gm_scale(g, mean(g, gm_square(g, d)), 0.5f);
}
static gm_node *sq_to_1(gm_graph *g, gm_node *s) { return half_sq_to(g, s, 1); }
static gm_node *sq_to_0(gm_graph *g, gm_node *s) { return half_sq_to(g, s, 0); }

/* wasserstein (Arjovsky et al.): the critic's raw score, E_fake[s] -
 * E_real[s] for the critic, -E_fake[s] for the generator (+E_real[s] on
 * real rows); needs a constraint on the critic (`penalty: wgan_gp`). */
static const gm_adv_loss losses[] = {
    {"minimax", neg_log_d, neg_log_1_minus_d, log_1_minus_d, log_d, true},
    {"non_saturating", neg_log_d, neg_log_1_minus_d, neg_log_d,
     neg_log_1_minus_d, true},
    {"hinge", hinge_real, hinge_fake, minus_score, score, false},
    {"least_squares", sq_to_1, sq_to_0, sq_to_1, sq_to_0, false},
    {"wasserstein", minus_score, score, minus_score, score, false},
};
#define N_LOSSES (sizeof losses / sizeof losses[0])

const char *const gm_adv_loss_names[N_LOSSES + 1] = {
    "minimax", "non_saturating", "hinge", "least_squares", "wasserstein",
    NULL};

const gm_adv_loss *gm_adv_loss_of(const gm_hparams *h) {
    const char *name = gm_hparams_choice(h, "loss");
    for (size_t i = 0; i < N_LOSSES; i++)
        if (strcmp(losses[i].name, name) == 0) return &losses[i];
    GM_ASSERT(!"a loss name the table lacks passed validation");
    return NULL;
}

static void metric(gm_node *n, const char *name) {
    gm_node_set_role(gm_node_set_name(n, name), GM_ROLE_METRIC);
}

/* A KL estimate of pack-fold products divided by pack: the optimal
 * logit of a pack is the sum of its samples' log density ratios. */
static gm_node *per_sample(gm_graph *g, gm_node *kl, int pack) {
    return pack > 1 ? gm_scale(g, kl, 1.0f / (float)pack) : kl;
}

gm_node *gm_adv_discriminator_loss(gm_graph *g, const gm_adv_loss *l,
                                   gm_node *real_score, gm_node *fake_score,
                                   gm_adv_metric_names names) {
    gm_node *loss =
        gm_add(g, l->d_real(g, real_score), l->d_fake(g, fake_score));
    if (l->logit) {
        metric(mean(g, gm_sigmoid(g, real_score)), "d_real");
        metric(mean(g, gm_sigmoid(g, fake_score)), "d_fake");
        if (names.kl_real_fake)
            metric(per_sample(g, mean(g, real_score), names.pack),
                   names.kl_real_fake);
        if (names.kl_fake_real)
            metric(per_sample(g, gm_neg(g, mean(g, fake_score)), names.pack),
                   names.kl_fake_real);
    } else {
        metric(mean(g, real_score), "d_score_real");
        metric(mean(g, fake_score), "d_score_fake");
    }
    return loss;
}

gm_node *gm_adv_generator_loss(gm_graph *g, const gm_adv_loss *l,
                               gm_node *fake_score, gm_node *real_score) {
    gm_node *loss = l->g_fake(g, fake_score);
    return real_score ? gm_add(g, loss, l->g_real(g, real_score)) : loss;
}
