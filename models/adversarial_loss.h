/* Adversarial loss families: one table row per loss, shared by every
 * adversarial objective (gan, gan_data_prior, ali, aae).
 *
 * The discriminator gives each row a score s. It minimises
 *   E_real[d_real(s)] + E_fake[d_fake(s)],
 * and the networks that make the fake rows (a generator; ALI's encoder
 * too, through the real rows) minimise
 *   E_fake[g_fake(s)] + E_real[g_real(s)].
 * A new loss is a new row. */
#ifndef GM_MODELS_ADVERSARIAL_LOSS_H
#define GM_MODELS_ADVERSARIAL_LOSS_H

#include "gm/objective.h"

/* One term: the mean over rows of a function of the scores [rows, 1]. */
typedef gm_node *(*gm_adv_term)(gm_graph *g, gm_node *score);

typedef struct gm_adv_loss {
    const char *name;
    gm_adv_term d_real, d_fake, g_fake, g_real;
    /* The score is a logit: sigmoid(s) is the probability that a row is
     * real, and s estimates log p_real / p_fake at the optimum. */
    bool logit;
} gm_adv_loss;

/* minimax, non_saturating, hinge, least_squares, wasserstein;
 * NULL-terminated. */
extern const char *const gm_adv_loss_names[];

/* The row named by the model's `loss` hyperparameter. */
const gm_adv_loss *gm_adv_loss_of(const gm_hparams *h);

/* The `loss` hyperparameter every adversarial objective takes. */
#define GM_ADV_LOSS_HPARAM                                                     \
    {                                                                          \
        .name = "loss", .type = GM_HP_CHOICE, .choices = gm_adv_loss_names,    \
        .def_choice = "non_saturating",                                        \
        .doc = "adversarial loss: minimax, non_saturating (-E[log D] for "     \
               "the generator), hinge, least_squares or wasserstein (raw "     \
               "critic scores)"                                                \
    }

/* The discriminator's steps per step of the networks it judges (`doc`
 * names them), and the learning rates of both sides. */
#define GM_ADV_D_STEPS_HPARAM(doc_)                                            \
    {                                                                          \
        .name = "d_steps", .type = GM_HP_INT, .def = 1, .min = 1, .max = 100,  \
        .doc = doc_                                                            \
    }
#define GM_ADV_D_LR_HPARAM                                                     \
    {                                                                          \
        .name = "d_lr", .type = GM_HP_FLOAT, .def = 0, .min = 0, .max = 10,    \
        .doc = "discriminator learning rate (0: the model's optimizer lr)"     \
    }
#define GM_ADV_G_LR_HPARAM(doc_)                                               \
    {                                                                          \
        .name = "g_lr", .type = GM_HP_FLOAT, .def = 0, .min = 0, .max = 10,    \
        .doc = doc_                                                            \
    }

/* What the discriminator's scores mean, as metric names: a logit loss
 * logs d_real and d_fake (mean probabilities), the others d_score_real
 * and d_score_fake (mean raw scores). For a logit loss, the mean real
 * score estimates KL(real || fake) and minus the mean fake score
 * KL(fake || real); they are logged under kl_real_fake and kl_fake_real
 * when those are not NULL. A score that judges `pack` samples at once
 * (PacGAN) estimates the KL between pack-fold products, pack times the
 * per-sample KL: the estimates are divided by pack (0 or 1: one sample
 * per score). */
typedef struct gm_adv_metric_names {
    const char *kl_real_fake, *kl_fake_real;
    int pack;
} gm_adv_metric_names;

/* The rows of a schema's metrics (gm_objective_schema.metrics) for the
 * discriminator's scores, which every adversarial objective logs. */
#define GM_ADV_SCORE_METRICS                                                   \
    {"d_real", "probability", GM_BETTER_NEITHER},                              \
        {"d_fake", "probability", GM_BETTER_NEITHER},                          \
        {"d_score_real", "discriminator score", GM_BETTER_NEITHER},            \
        {"d_score_fake", "discriminator score", GM_BETTER_NEITHER}

/* The rows of kl_real_fake and kl_fake_real as gan, gan_data_prior and ali
 * name them: the discriminator's estimates of both KLs between the data
 * (x, or ali's joint q(x, z)) and the model. */
#define GM_ADV_KL_DISC_METRICS                                                 \
    {"kl_data_model_disc", "nats", GM_BETTER_LOWER},                           \
        {"kl_model_data_disc", "nats", GM_BETTER_LOWER}

/* The discriminator's loss from its scores on real and fake rows, with
 * its metrics marked in g. */
gm_node *gm_adv_discriminator_loss(gm_graph *g, const gm_adv_loss *l,
                                   gm_node *real_score, gm_node *fake_score,
                                   gm_adv_metric_names names);

/* The loss of the networks that make the fake rows; real_score may be
 * NULL when no trained network makes the real rows. */
gm_node *gm_adv_generator_loss(gm_graph *g, const gm_adv_loss *l,
                               gm_node *fake_score, gm_node *real_score);

#endif
