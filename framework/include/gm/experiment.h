/* gm/experiment.h: a validated experiment, as read from its YAML file.
 *
 * gm_config_load (gm/config.h) produces it; datasets (gm/data.h), the
 * trainer and the run file consume it. Every value here has been checked:
 * consumers need not validate again. */
#ifndef GM_EXPERIMENT_H
#define GM_EXPERIMENT_H

#include <stdint.h>

#include "gm/api.h"
#include "gm/graph.h"
#include "gm/hparams.h"
#include "gm/nn.h"
#include "gm/optim.h"
#include "gm/status.h"
#include "gm/sweep.h"

GM_API_BEGIN

#define GM_PATH_MAX 1024
#define GM_MAX_SEEDS 64
#define GM_MAX_BLAS_THREADS 64
#define GM_MAX_ROLES 4
#define GM_MODEL_NAME_MAX 128

/* dataset: one of the kinds `gm list datasets` prints (gm/data.h), which
 * reads the fields named after its keys; the others are meaningful only
 * to other kinds. */
typedef struct gm_dataset_spec {
    char name[32];
    /* ring: `modes` centres on a circle of `radius`; grid: side x side
     * centres `spacing` apart, centred on 0. Both: isotropic `std`, `size`
     * samples. */
    int modes;
    double radius;
    int side;
    double spacing;
    double std;
    long size;
    /* idx: `path` and optional `test_path` (may end in .gz);
     * hdf5: `path` and the 2-D float dataset `key` inside it;
     * fashion_mnist: `path` is the directory (default
     * GM_FASHION_MNIST_DIR of gm/data.h). */
    char path[GM_PATH_MAX];
    char test_path[GM_PATH_MAX];
    char key[256];
    /* stacked_fashion_mnist: `size` stacked images (and a test split of
     * as many as Fashion-MNIST's test images) drawn with `seed` from the
     * fashion_mnist files in `path`. */
    long seed;
} gm_dataset_spec;

typedef struct gm_train_spec {
    long steps;
    int batch_size;
    gm_optim_config optimizer;
    /* of the training phases' products (train.precision; the evaluation
     * graphs stay float32) */
    gm_precision precision;
} gm_train_spec;

/* A network by the role its objective gives it ("encoder", "generator"). */
typedef struct gm_role_network {
    char role[32];
    gm_net_spec net; /* net.out is left 0: the objective decides it */
} gm_role_network;

typedef struct gm_model_spec {
    /* The name in the file, or for a point of a sweep the swept model's
     * name and its values: "vae[beta=4,latent_dim=8]". */
    char name[GM_MODEL_NAME_MAX];
    char objective[64];
    char plugin[GM_PATH_MAX]; /* shared library, or "" for built-ins */
    int latent_dim;
    gm_role_network networks[GM_MAX_ROLES];
    int n_networks;
    gm_hparams params;   /* every hyperparameter, defaults filled in */
    gm_train_spec train; /* the global train with this model's overrides */
    /* The keys the experiment's sweep set in this model, in the order of
     * the sweep block, and their values here; n_sweep is 0 for a model
     * not swept. */
    gm_sweep_value sweep[GM_SWEEP_MAX_KEYS];
    int n_sweep;
} gm_model_spec;

typedef struct gm_experiment {
    char name[64];
    char source[GM_PATH_MAX]; /* the YAML file it came from */
    char out[GM_PATH_MAX];    /* run file, default runs/<name>.h5 */
    uint64_t seeds[GM_MAX_SEEDS];
    int n_seeds;
    gm_dataset_spec dataset;
    gm_train_spec train;
    long eval_every;
    int eval_samples;
    /* held-out rows for the objective's evaluation; 0: the dataset's whole
     * test split, or 1000 training rows if it has none */
    int eval_held_out;
    /* a run file holding a classifier model (objective classifier) whose
     * checkpoint labels the samples for the image mode metrics, and the
     * model's name ("": the file's only classifier); "" for none */
    char eval_classifier[GM_PATH_MAX];
    char eval_classifier_model[GM_MODEL_NAME_MAX];
    /* the k-NN metrics (gm/manifold.h): k, and at most how many samples
     * (and reference rows) they and the Frechet distance use */
    int eval_knn_k;
    int eval_knn_samples;
    long checkpoint_every; /* steps between checkpoints (and at the end) */
    /* OpenBLAS threads for every run's products (blas_threads, default 1);
     * part of the experiment because the products' last bits depend on
     * it, so a run's results do not depend on how it is launched. */
    int blas_threads;
    gm_model_spec *models; /* in file order */
    int n_models;
    char *config_yaml; /* the whole document, overrides applied, its
                          sweep block (if any) not expanded */
} gm_experiment;

/* The width of a network's input or output as its objective wires it:
 * latent * latent_dim + data * (the data's dimension) + fixed + classes *
 * (the dataset's number of classes). A VAE encoder's output is
 * {.latent = 2}, a discriminator's {.fixed = 1}, a classifier's
 * {.classes = 1}. */
typedef struct gm_width {
    int latent, data, fixed; /* each >= 0 */
    int classes;             /* >= 0 */
} gm_width;

/* A network role's input and output widths. */
typedef struct gm_role_shape {
    gm_width in, out;
} gm_role_shape;

/* Which way a better model moves a metric. */
typedef enum gm_better {
    GM_BETTER_NEITHER, /* a diagnostic: no value is better in itself */
    GM_BETTER_HIGHER,
    GM_BETTER_LOWER,
} gm_better;

/* What a logged metric's number means: its unit and which way is
 * better. */
typedef struct gm_metric_info {
    const char *name;
    const char *unit; /* e.g. "nats per example", "modes" */
    gm_better better;
} gm_metric_info;

/* What the configuration reader needs to know of an objective to check a
 * model: the network roles it takes, their shapes and its
 * hyperparameters; and what gm needs to know of its metrics. */
typedef struct gm_objective_schema {
    const char *name;
    const char *summary;
    const char *const *roles; /* e.g. {"encoder", "decoder"} */
    int n_roles;
    const gm_hparam_spec *hparams;
    int n_hparams;
    /* shapes[r] for roles[r], so that the reader can check the networks'
     * sizes (gm/limits.h) before anything is built. NULL if the objective
     * does not say: the hidden layers are checked then, and each network
     * in full when it is built. */
    const gm_role_shape *shapes;
    /* The metrics that tell how well a model of this objective did, most
     * telling first (held-out ones before training ones, where it has
     * them): `gm summary` shows them as its columns and the progress line
     * in a pipe prints them, each followed by gm's sample-based ones
     * (gm/metric_info.h). NULL and 0: gm's alone. */
    const char *const *headline;
    int n_headline;
    /* Every metric the objective logs (the metric nodes of its phase
     * graphs, its evaluate hook's metrics and vectors), each once, with
     * its unit and which way is better; a phase's loss (loss_<phase>) is
     * gm's and needs no row. A model that logs a metric its objective does
     * not declare is refused when it is built. The run file keeps each
     * metric's unit and direction beside its series, where `gm summary`
     * reads them. */
    const gm_metric_info *metrics;
    int n_metrics;
    /* Properties gm acts on; NULL for an objective without them.
     * log_px: the evaluation metric (one of gm_hooks.eval_metrics) that
     *   estimates the mean log p_model(x) of the held-out rows, in nats per
     *   example (vae_elbo's iwae_logpx); where the data's density is known
     *   gm logs kl_data_model_iwae = mean log p_data(x) - log_px.
     * classifier_role: the role of a network mapping a data row to one
     *   logit per class of the dataset: a run file of a model of this
     *   objective can serve as eval.classifier (gm rebuilds that network
     *   from the run's checkpoint and labels samples with it);
     *   accuracy_metric then names the evaluation metric holding the
     *   model's held-out accuracy, a fraction of rows. */
    const char *log_px;
    const char *classifier_role;
    const char *accuracy_metric;
} gm_objective_schema;

/* Finds the schema of `objective`, loading `plugin` first if it is not
 * "" (a shared library). NULL with err set if there is no such objective
 * or the library cannot be loaded. */
typedef const gm_objective_schema *(*gm_schema_lookup)(const char *objective,
                                                       const char *plugin,
                                                       void *ctx,
                                                       gm_error *err);

/* Frees what gm_config_load allocated inside `e` (not `e` itself). */
void gm_experiment_clear(gm_experiment *e);

GM_API_END

#endif
