/* A VAE on a ring of eight Gaussians, written against libgm's public API
 * only: the file a new engineer reads first. It shows the engine's four
 * pieces and the run file:
 *
 *   1. data:       a dataset from a spec and a batcher over it (gm/data.h)
 *   2. networks:   parameter groups and MLPs (gm/params.h, gm/nn.h)
 *   3. the graph:  the loss built from ops once, compiled, then run by
 *                  forward and backward every step (gm/graph.h, gm/ops.h)
 *   4. training:   an Adam optimizer per group (gm/optim.h)
 *   5. results:    an HDF5 run file with the ELBO over training, readable
 *                  by `gm summary`, h5py and h5dump (gm/runfile.h)
 *
 * `gm run` does all this from YAML for the built-in objectives
 * (models/vae_elbo.c is this model with every option); a new objective is
 * a plugin (docs/plugins.md). Usage: vae_ring OUT.h5 [STEPS]. */
#include <stdio.h>
#include <stdlib.h>

#include "gm/data.h"
#include "gm/gm.h"
#include "gm/runfile.h"

enum { BATCH = 128, LATENT = 2, HIDDEN = 64, EVALS = 5 };

/* The model: q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I) and
 * p(x|z) = N(decoder(z), I), trained on the negative ELBO per example,
 *   E_q[-log p(x|z)] + KL(q(z|x) || p(z)),
 * with one reparameterised draw of z per example. */
typedef struct vae {
    gm_params *encoder_params, *decoder_params;
    gm_net encoder, decoder;
    gm_graph *graph;
    gm_node *x, *loss;
} vae;

static gm_status vae_build(vae *m, int data_dim, gm_rng *init, gm_rng *noise,
                           gm_error *err) {
    m->encoder_params = gm_params_create("encoder");
    m->decoder_params = gm_params_create("decoder");
    if (!m->encoder_params || !m->decoder_params)
        return gm_error_set(err, GM_ERR_NOMEM, "vae: out of memory");
    /* One hidden layer of 64 ReLU units each way. */
    gm_net_spec encoder = {.hidden = {HIDDEN}, .n_hidden = 1,
                           .activation = GM_ACT_RELU, .out = 2 * LATENT};
    gm_net_spec decoder = {.hidden = {HIDDEN}, .n_hidden = 1,
                           .activation = GM_ACT_RELU, .out = data_dim};
    gm_status s = gm_net_init(&m->encoder, m->encoder_params, NULL, "encoder",
                              data_dim, &encoder, init, err);
    if (s == GM_OK)
        s = gm_net_init(&m->decoder, m->decoder_params, NULL, "decoder", LATENT,
                        &decoder, init, err);
    if (s != GM_OK) return s;

    /* The graph is built once; each node's memory is laid out when it is
     * compiled, so a training step allocates nothing. */
    gm_graph *g = m->graph = gm_graph_create("vae");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "vae: out of memory");
    m->x = gm_input(g, "x", (int[]){BATCH, data_dim}, 2);
    gm_node *stats = gm_net_forward(g, &m->encoder, m->x);
    gm_node *mu = gm_slice_cols(g, stats, 0, LATENT);
    gm_node *logvar = gm_slice_cols(g, stats, LATENT, LATENT);
    /* z = mu + exp(logvar / 2) * eps: a fresh eps ~ N(0, I) each forward */
    gm_node *eps = gm_randn(g, "eps", (int[]){BATCH, LATENT}, 2, noise);
    gm_node *z = gm_add(
        g, mu, gm_mul(g, gm_exp(g, gm_scale(g, logvar, 0.5f)), eps));
    gm_node *x_mean = gm_net_forward(g, &m->decoder, z);
    /* per example: -log N(x; x_mean, I) summed over x's dimensions, and
     * the KL of q(z|x) from N(0, I) summed over z's */
    gm_node *recon = gm_sum(g, gm_gaussian_nll_fixed(g, m->x, x_mean, 0.0f),
                            GM_AXIS_PER_ROW);
    gm_node *kl = gm_sum(g, gm_kl_normal_std(g, mu, logvar), GM_AXIS_PER_ROW);
    m->loss = gm_mean(g, gm_add(g, recon, kl), GM_AXIS_ALL);
    /* Ops record the first error (a shape mismatch names both shapes);
     * compiling reports it. */
    return gm_graph_compile(g, err);
}

static void vae_free(vae *m) {
    gm_graph_free(m->graph);
    gm_params_free(m->encoder_params);
    gm_params_free(m->decoder_params);
}

/* Trains for `steps` steps and logs the ELBO (in nats per example, averaged
 * over the steps since the last row) EVALS times. */
static gm_status train(vae *m, gm_batcher *batches, gm_run_log *log,
                       long steps, gm_error *err) {
    gm_optim_config adam = gm_optim_defaults(GM_OPTIM_ADAM);
    adam.lr = 1e-3f;
    gm_optim *opt[2] = {gm_optim_create(m->encoder_params, &adam, err),
                        gm_optim_create(m->decoder_params, &adam, err)};
    gm_status s = opt[0] && opt[1] ? GM_OK : GM_ERR_NOMEM;
    double elbo_sum = 0.0;
    long since = 0;
    for (long step = 1; s == GM_OK && step <= steps; step++) {
        gm_batcher_next(batches, gm_node_data(m->x), NULL);
        gm_graph_forward(m->graph);
        s = gm_graph_backward(m->graph, m->loss, err);
        for (int k = 0; s == GM_OK && k < 2; k++) gm_optim_step(opt[k]);
        elbo_sum -= gm_node_scalar(m->loss);
        since++;
        if (s == GM_OK && step % (steps / EVALS) == 0) {
            double elbo = elbo_sum / (double)since;
            printf("step %5ld  elbo %8.4f nats\n", step, elbo);
            s = gm_run_log_append(log, step, &elbo, NULL, NULL, NULL, err);
            elbo_sum = 0.0, since = 0;
        }
    }
    gm_optim_free(opt[0]);
    gm_optim_free(opt[1]);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: vae_ring OUT.h5 [STEPS]\n");
        return 2;
    }
    long steps = argc == 3 ? atol(argv[2]) : 5000;
    if (steps < EVALS) {
        fprintf(stderr, "vae_ring: STEPS must be at least %d\n", EVALS);
        return 2;
    }
    gm_error err = {0};
    gm_status s = GM_OK;

    /* Every random number comes from a named stream of one seed, so that
     * a run is reproducible and one stream's use never shifts another's. */
    const uint64_t seed = 1;
    gm_rng data_rng = gm_rng_stream(seed, "data"),
           init_rng = gm_rng_stream(seed, "init"),
           noise_rng = gm_rng_stream(seed, "noise");

    /* 1. 100000 points around 8 modes on a circle of radius 2 */
    gm_dataset_spec ring = {.name = "ring", .modes = 8, .radius = 2.0,
                            .std = 0.02, .size = 100000};
    gm_dataset *data = gm_dataset_create(&ring, &data_rng, &err);
    gm_batcher *batches =
        data ? gm_batcher_create(data, BATCH, data_rng, &err) : NULL;
    if (!batches) s = GM_ERR_INVALID;

    /* 2-3. the model and its loss graph */
    vae m = {0};
    if (s == GM_OK)
        s = vae_build(&m, gm_dataset_dim(data), &init_rng, &noise_rng, &err);

    /* 5. the run file: one model ("vae") with one run (seed 1) and one
     * metric; published whole after each row, so a reader never sees a
     * half-written file */
    gm_runfile *file = NULL;
    gm_run_log *log = NULL;
    const char *metrics[] = {"elbo"};
    if (s == GM_OK)
        file = gm_runfile_create(argv[1], GM_RUNFILE_NEW, "vae_ring", "",
                                 &err);
    if (file && gm_runfile_add_model(file, "vae", "vae_elbo", NULL, &err) ==
                    GM_OK)
        log = gm_runfile_begin_run(file, "vae", seed, metrics, 1, 0, 0, 0,
                                   &err);
    if (s == GM_OK && !log) s = GM_ERR_IO;

    /* 4. training; then the run and the file are marked complete and
     * /summary (what `gm summary` prints) is written. A file that is not
     * marked complete reads as unfinished. */
    if (s == GM_OK) s = train(&m, batches, log, steps, &err);
    if (s == GM_OK) s = gm_run_log_finish(log, steps, 0.0, &err);
    if (s == GM_OK) s = gm_runfile_write_summary(file, &err);
    if (s == GM_OK) s = gm_runfile_set_status(file, "complete", &err);
    gm_run_log_free(log);
    gm_status closed = gm_runfile_close(file, s == GM_OK ? &err : NULL);
    if (s == GM_OK) s = closed;
    vae_free(&m);
    gm_batcher_free(batches);
    gm_dataset_free(data);
    if (s != GM_OK) {
        fprintf(stderr, "vae_ring: %s\n", err.message);
        return 1;
    }
    printf("wrote %s (gm summary %s)\n", argv[1], argv[1]);
    return 0;
}
