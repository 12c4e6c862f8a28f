/* The ring GAN's networks and data, shared by bench_gan.c and
 * bench_wgan_gp.c: generator z(256) -> 128 -> 128 -> 2, discriminator
 * (critic) 2 -> 128 -> 128 -> 1, ReLU, initialised from the stream "init"
 * of seed 1; real batches of 512 rows from a pre-drawn buffer of
 * ring-of-8 samples (eight Gaussians of std 0.02 on a circle of radius
 * 2). */
#ifndef GM_BENCH_RING_GAN_H
#define GM_BENCH_RING_GAN_H

#include <math.h>

#include "bench_util.h"
#include "gm/gm.h"

enum {
    RING_BATCH = 512,
    RING_LATENT = 256,
    RING_HIDDEN = 128,
    RING_DIM = 2,
    RING_DATA_BATCHES = 64
};

typedef struct ring_nets {
    gm_params *gen_p, *disc_p;
    gm_net gen, disc;
} ring_nets;

/* Both networks, their weights drawn from `init`; nonzero with err set on
 * failure. */
static inline int ring_nets_init(ring_nets *n, gm_rng *init, gm_error *err) {
    n->gen_p = gm_params_create("generator");
    n->disc_p = gm_params_create("discriminator");
    gm_net_spec gs = {.hidden = {RING_HIDDEN, RING_HIDDEN},
                      .n_hidden = 2,
                      .activation = GM_ACT_RELU,
                      .out = RING_DIM};
    gm_net_spec ds = gs;
    ds.out = 1;
    return gm_net_init(&n->gen, n->gen_p, NULL, "gen", RING_LATENT, &gs, init,
                       err) ||
           gm_net_init(&n->disc, n->disc_p, NULL, "disc", RING_DIM, &ds, init,
                       err);
}

static inline void ring_nets_free(ring_nets *n) {
    gm_params_free(n->gen_p);
    gm_params_free(n->disc_p);
}

/* [RING_DATA_BATCHES * RING_BATCH, RING_DIM] ring-of-8 samples from
 * `data` (exits on failure: benchmark only). */
static inline float *ring_data(gm_rng *data) {
    float *x = bench_alloc((size_t)RING_DATA_BATCHES * RING_BATCH * RING_DIM);
    for (int i = 0; i < RING_DATA_BATCHES * RING_BATCH; i++) {
        double a = 2.0 * M_PI * (double)gm_rng_below(data, 8) / 8.0;
        x[2 * i] = (float)(2.0 * cos(a) + 0.02 * gm_rng_normal(data));
        x[2 * i + 1] = (float)(2.0 * sin(a) + 0.02 * gm_rng_normal(data));
    }
    return x;
}

/* Real batch `step` (cycling through the buffer). */
static inline const float *ring_batch(const float *data, long step) {
    return data + (step % RING_DATA_BATCHES) * RING_BATCH * RING_DIM;
}

#endif
