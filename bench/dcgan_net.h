/* The DCGAN of experiments/fashion_dcgan.yaml (and bench/torch_dcgan.py)
 * as gm builds it, for bench_dcgan.c: generator z(64) -> Linear 6272 ->
 * batch norm -> ReLU -> [128, 7, 7] -> ConvTranspose2d 64 (kernel 4,
 * stride 2, padding 1) -> batch norm -> ReLU -> ConvTranspose2d 1 ->
 * sigmoid -> 784; discriminator 784 -> [1, 28, 28] -> Conv2d 64 -> leaky
 * ReLU 0.2 -> Conv2d 128 -> batch norm -> leaky ReLU -> flatten -> Linear
 * 1. Batch 64, Adam lr 2e-4, betas (0.5, 0.999). One step is the two
 * phases of gan_phases.h. */
#ifndef GM_BENCH_DCGAN_NET_H
#define GM_BENCH_DCGAN_NET_H

#include "bench_util.h"
#include "gan_phases.h"
#include "gm/gm.h"

enum { DCGAN_BATCH = 64, DCGAN_LATENT = 64, DCGAN_PIXELS = 784 };
enum { DCGAN_DATA_BATCHES = 16 };

typedef struct dcgan {
    gm_params *gen_p, *disc_p, *gen_stats, *disc_stats;
    gm_net gen, disc;
    gan_phases phases;
    float *data; /* [DCGAN_DATA_BATCHES * DCGAN_BATCH, 784] in [0, 1) */
    long step;
} dcgan;

static inline gm_layer_spec dcgan_conv(gm_layer_kind kind, int out) {
    return (gm_layer_spec){
        .kind = kind, .out = out, .kernel = 4, .stride = 2, .padding = 1};
}

static inline gm_layer_spec dcgan_layer(gm_layer_kind kind) {
    return (gm_layer_spec){.kind = kind};
}

static inline void dcgan_specs(gm_net_spec *gen, gm_net_spec *disc) {
    memset(gen, 0, sizeof *gen);
    memset(disc, 0, sizeof *disc);
    gm_layer_spec g[] = {
        {.kind = GM_LAYER_LINEAR, .out = 6272},
        dcgan_layer(GM_LAYER_BATCH_NORM),
        dcgan_layer(GM_LAYER_RELU),
        {.kind = GM_LAYER_RESHAPE, .shape = {128, 7, 7}, .ndim = 3},
        dcgan_conv(GM_LAYER_CONV_TRANSPOSE2D, 64),
        dcgan_layer(GM_LAYER_BATCH_NORM),
        dcgan_layer(GM_LAYER_RELU),
        dcgan_conv(GM_LAYER_CONV_TRANSPOSE2D, 1),
        dcgan_layer(GM_LAYER_SIGMOID),
    };
    gm_layer_spec d[] = {
        {.kind = GM_LAYER_RESHAPE, .shape = {1, 28, 28}, .ndim = 3},
        dcgan_conv(GM_LAYER_CONV2D, 64),
        {.kind = GM_LAYER_LEAKY_RELU, .slope = 0.2f},
        dcgan_conv(GM_LAYER_CONV2D, 128),
        dcgan_layer(GM_LAYER_BATCH_NORM),
        {.kind = GM_LAYER_LEAKY_RELU, .slope = 0.2f},
        dcgan_layer(GM_LAYER_FLATTEN),
        dcgan_layer(GM_LAYER_LINEAR),
    };
    gen->n_layers = (int)(sizeof g / sizeof g[0]);
    disc->n_layers = (int)(sizeof d / sizeof d[0]);
    memcpy(gen->layers, g, sizeof g);
    memcpy(disc->layers, d, sizeof d);
    gen->out = DCGAN_PIXELS;
    disc->out = 1;
}

static inline int dcgan_build(dcgan *m, gm_precision precision,
                              gm_error *err) {
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_rng data = gm_rng_stream(1, "data");
    gm_net_spec gs, ds;
    dcgan_specs(&gs, &ds);
    m->gen_p = gm_params_create("generator");
    m->disc_p = gm_params_create("discriminator");
    m->gen_stats = gm_params_create("generator.stats");
    m->disc_stats = gm_params_create("discriminator.stats");
    if (gm_net_init(&m->gen, m->gen_p, m->gen_stats, "generator", DCGAN_LATENT,
                    &gs, &init, err) ||
        gm_net_init(&m->disc, m->disc_p, m->disc_stats, "discriminator",
                    DCGAN_PIXELS, &ds, &init, err))
        return 1;
    if (gan_phases_build(&m->phases, &m->gen, m->gen_p, &m->disc, m->disc_p,
                         DCGAN_BATCH, DCGAN_LATENT, DCGAN_PIXELS, 2e-4f, &noise,
                         precision, err))
        return 1;

    size_t n = (size_t)DCGAN_DATA_BATCHES * DCGAN_BATCH * DCGAN_PIXELS;
    m->data = bench_alloc(n);
    for (size_t i = 0; i < n; i++)
        m->data[i] = (float)gm_rng_uniform(&data);
    return 0;
}

/* The real batch of this step into x. */
static inline void dcgan_next_batch(dcgan *m) {
    size_t len = (size_t)DCGAN_BATCH * DCGAN_PIXELS;
    memcpy(gm_node_data(m->phases.x),
           m->data + (size_t)(m->step++ % DCGAN_DATA_BATCHES) * len,
           len * sizeof(float));
}

static inline void dcgan_step(void *state) {
    dcgan *m = state;
    dcgan_next_batch(m);
    gan_phases_step(&m->phases, m->gen_p, m->disc_p);
}

static inline void dcgan_free(dcgan *m) {
    gan_phases_free(&m->phases);
    gm_params_free(m->gen_p);
    gm_params_free(m->disc_p);
    gm_params_free(m->gen_stats);
    gm_params_free(m->disc_stats);
    free(m->data);
}

#endif
