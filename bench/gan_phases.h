/* The two phases of one GAN training step as models/gan_parts.c builds
 * them, without the trainer's metric nodes (the PyTorch references have
 * none), for the GAN benches: the discriminator phase (generator frozen,
 * D on a real batch x and a fake one, -E_data[log D] - E_g[log(1 - D)])
 * and the generator phase (discriminator frozen, -E_g[log D]), both from
 * logits with fresh N(0, 1) noise, each with its Adam (beta1 0.5), their
 * products in the given precision. */
#ifndef GM_BENCH_GAN_PHASES_H
#define GM_BENCH_GAN_PHASES_H

#include "gm/gm.h"

typedef struct gan_phases {
    gm_graph *dg, *gg; /* the discriminator's and the generator's phase */
    gm_node *x, *d_loss, *g_loss;
    gm_optim *d_opt, *g_opt;
} gan_phases;

/* Builds both phases over the networks gen (latent -> dim, its parameters
 * in gen_p) and disc (dim -> 1, in disc_p) for batches of `batch`; returns
 * nonzero with err set if a graph or optimizer fails. */
static inline int gan_phases_build(gan_phases *p, const gm_net *gen,
                                   gm_params *gen_p, const gm_net *disc,
                                   gm_params *disc_p, int batch, int latent,
                                   int dim, float lr, gm_rng *noise,
                                   gm_precision precision, gm_error *err) {
    gm_graph *g = p->dg = gm_graph_create("discriminator");
    gm_graph_set_precision(g, precision);
    gm_graph_freeze(g, gen_p);
    p->x = gm_input(g, "x", (int[]){batch, dim}, 2);
    gm_node *z = gm_randn(g, "z", (int[]){batch, latent}, 2, noise);
    gm_node *real = gm_net_forward(g, disc, p->x);
    gm_node *fake = gm_net_forward(g, disc, gm_net_forward(g, gen, z));
    p->d_loss =
        gm_add(g, gm_mean(g, gm_softplus(g, gm_neg(g, real)), GM_AXIS_ALL),
               gm_mean(g, gm_softplus(g, fake), GM_AXIS_ALL));
    if (gm_graph_compile(g, err)) return 1;

    g = p->gg = gm_graph_create("generator");
    gm_graph_set_precision(g, precision);
    gm_graph_freeze(g, disc_p);
    z = gm_randn(g, "z", (int[]){batch, latent}, 2, noise);
    gm_node *logit = gm_net_forward(g, disc, gm_net_forward(g, gen, z));
    p->g_loss = gm_mean(g, gm_softplus(g, gm_neg(g, logit)), GM_AXIS_ALL);
    if (gm_graph_compile(g, err)) return 1;

    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    oc.lr = lr;
    oc.beta1 = 0.5f;
    p->d_opt = gm_optim_create(disc_p, &oc, err);
    p->g_opt = gm_optim_create(gen_p, &oc, err);
    return !p->d_opt || !p->g_opt;
}

/* One step, the real batch already in p->x. */
static inline void gan_phases_step(gan_phases *p, gm_params *gen_p,
                                   gm_params *disc_p) {
    gm_params_zero_grad(disc_p);
    gm_graph_forward(p->dg);
    gm_optim_backward_step(&p->d_opt, 1, p->dg, p->d_loss, NULL);
    gm_params_zero_grad(gen_p);
    gm_graph_forward(p->gg);
    gm_optim_backward_step(&p->g_opt, 1, p->gg, p->g_loss, NULL);
}

static inline void gan_phases_free(gan_phases *p) {
    gm_optim_free(p->d_opt);
    gm_optim_free(p->g_opt);
    gm_graph_free(p->dg);
    gm_graph_free(p->gg);
}

#endif
