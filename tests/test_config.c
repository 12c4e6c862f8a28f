/* Experiment files: valid documents fill every field (defaults included),
 * and every kind of mistake is reported with file:line:col (or the --set
 * at fault), the key path and what is wrong. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm/config.h"

/* ---- a fake objective registry ------------------------------------------ */

static const char *const vae_roles[] = {"encoder", "decoder"};
static const char *const likelihoods[] = {"gaussian", "bernoulli", NULL};
static const gm_hparam_spec vae_params[] = {
    {"beta", GM_HP_FLOAT, 1.0, 0, 1000, NULL, NULL, "KL weight"},
    {"likelihood", GM_HP_CHOICE, 0, 0, 0, likelihoods, "gaussian", "p(x|z)"},
    {"learned_sigma", GM_HP_BOOL, 0, 0, 1, NULL, NULL, "learn sigma"},
};
static const gm_role_shape vae_shapes[] = {
    {.in = {.data = 1}, .out = {.latent = 2}},
    {.in = {.latent = 1}, .out = {.data = 1}},
};
static const gm_objective_schema vae_schema = {.name = "vae_elbo",
                                               .summary = "VAE",
                                               .roles = vae_roles,
                                               .n_roles = 2,
                                               .hparams = vae_params,
                                               .n_hparams = 3,
                                               .shapes = vae_shapes};

static const char *const gan_roles[] = {"generator", "discriminator"};
static const char *const gan_losses[] = {"minimax", "non_saturating", NULL};
static const gm_hparam_spec gan_params[] = {
    {"loss", GM_HP_CHOICE, 0, 0, 0, gan_losses, "non_saturating", "G loss"},
    {"d_steps", GM_HP_INT, 1, 1, 100, NULL, NULL, "D steps per G step"},
};
static const gm_role_shape gan_shapes[] = {
    {.in = {.latent = 1}, .out = {.data = 1}},
    {.in = {.data = 1}, .out = {.fixed = 1}},
};
static const gm_objective_schema gan_schema = {.name = "gan",
                                               .summary = "GAN",
                                               .roles = gan_roles,
                                               .n_roles = 2,
                                               .hparams = gan_params,
                                               .n_hparams = 2,
                                               .shapes = gan_shapes};

/* A classifier's output is one logit per class of the dataset. */
static const char *const classifier_roles[] = {"classifier"};
static const gm_role_shape classifier_shapes[] = {
    {.in = {.data = 1}, .out = {.classes = 1}},
};
static const gm_objective_schema classifier_schema = {
    .name = "classifier",
    .summary = "classifier",
    .roles = classifier_roles,
    .n_roles = 1,
    .shapes = classifier_shapes};

/* An objective that does not declare its networks' shapes, and one whose
 * declared shape is broken (an input of width 0). */
static const gm_objective_schema shapeless_schema = {
    .name = "shapeless", .summary = "no shapes", .roles = gan_roles,
    .n_roles = 2};
static const gm_role_shape broken_shapes[] = {
    {.in = {0}, .out = {.data = 1}},
    {.in = {.data = 1}, .out = {.fixed = 1}},
};
static const gm_objective_schema broken_schema = {
    .name = "broken", .summary = "bad shape", .roles = gan_roles,
    .n_roles = 2, .shapes = broken_shapes};

static const gm_objective_schema *fake_lookup(const char *objective,
                                              const char *plugin, void *ctx,
                                              gm_error *err) {
    (void)ctx;
    if (plugin[0]) {
        gm_error_set(err, GM_ERR_IO, "cannot load plugin %s: no such file",
                     plugin);
        return NULL;
    }
    if (strcmp(objective, "vae_elbo") == 0) return &vae_schema;
    if (strcmp(objective, "gan") == 0) return &gan_schema;
    if (strcmp(objective, "classifier") == 0) return &classifier_schema;
    if (strcmp(objective, "shapeless") == 0) return &shapeless_schema;
    if (strcmp(objective, "broken") == 0) return &broken_schema;
    gm_error_set(err, GM_ERR_NOT_FOUND,
                 "unknown objective \"%s\" (known: vae_elbo, gan)", objective);
    return NULL;
}

static gm_status load(gm_experiment *e, const char *doc,
                      const char *const *sets, int n, gm_error *err) {
    return gm_config_load_string(e, doc, "x.yaml", sets, n, fake_lookup, NULL,
                                 err);
}

/* Loads a document that must be valid. */
static void load_ok(gm_experiment *e, const char *doc, const char *const *sets,
                    int n) {
    gm_error err = {0};
    gm_status st = load(e, doc, sets, n, &err);
    cr_assert_eq(st, GM_OK, "unexpected error: %s", err.message);
}

static const gm_model_spec *model(const gm_experiment *e, const char *name) {
    for (int i = 0; i < e->n_models; i++)
        if (strcmp(e->models[i].name, name) == 0) return &e->models[i];
    cr_assert_fail("no model %s", name);
    return NULL;
}

static const gm_net_spec *network(const gm_model_spec *m, const char *role) {
    for (int i = 0; i < m->n_networks; i++)
        if (strcmp(m->networks[i].role, role) == 0) return &m->networks[i].net;
    cr_assert_fail("no network %s in %s", role, m->name);
    return NULL;
}

static double param(const gm_model_spec *m, const char *name) {
    return gm_hparams_number(&m->params, name);
}

#define ASSERT_FLOAT_EQ(a, b)                                                  \
    cr_assert_float_eq((a), (b), 1e-6 * fabs(b) + 1e-12)

/* ---- valid documents ---------------------------------------------------- */

static const char minimal_doc[] = "experiment: mini\n"
                                  "dataset: {name: ring}\n"
                                  "train: {steps: 100}\n"
                                  "models:\n"
                                  "  vae: {objective: vae_elbo}\n";

/* The flagship experiment (experiments/gan_vs_vae.yaml), less the
 * out-of-tree model. */
static const char full_doc[] =
    "experiment: gan_vs_vae          # output defaults to "
    "runs/<experiment>.h5\n"
    "seeds: [1, 2, 3]\n"
    "out: runs/custom.h5\n"
    "dataset:\n"
    "  name: ring\n"
    "  modes: 8\n"
    "  radius: 2.0\n"
    "  std: 0.02\n"
    "  size: 100000\n"
    "train:\n"
    "  steps: 20000\n"
    "  batch_size: 512\n"
    "  optimizer: {name: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.999}\n"
    "eval:\n"
    "  every: 1000\n"
    "  samples: 2500\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    latent_dim: 2\n"
    "    encoder: {hidden: [128, 128], activation: relu}\n"
    "    decoder: {hidden: [64, 32, 16], activation: leaky_relu, "
    "activation_param: 0.1}\n"
    "    params: {beta: 0.5, likelihood: bernoulli, learned_sigma: true}\n"
    "  gan:\n"
    "    objective: gan\n"
    "    latent_dim: 4\n"
    "    generator: {hidden: [128, 128], activation: relu}\n"
    "    discriminator: {hidden: [256], activation: tanh}\n"
    "    params: {loss: minimax, d_steps: 2}\n"
    "    train: {optimizer: {lr: 2.0e-4}}\n";

Test(config_valid, minimal_fills_defaults) {
    gm_experiment e;
    load_ok(&e, minimal_doc, NULL, 0);
    cr_assert_str_eq(e.name, "mini");
    cr_assert_str_eq(e.source, "x.yaml");
    cr_assert_str_eq(e.out, "runs/mini.h5");
    cr_assert_eq(e.n_seeds, 1);
    cr_assert_eq(e.seeds[0], 1);
    cr_assert_str_eq(e.dataset.name, "ring");
    cr_assert_eq(e.dataset.modes, 8);
    ASSERT_FLOAT_EQ(e.dataset.radius, 2.0);
    ASSERT_FLOAT_EQ(e.dataset.std, 0.02);
    cr_assert_eq(e.dataset.size, 100000);
    cr_assert_eq(e.train.steps, 100);
    cr_assert_eq(e.train.batch_size, 64);
    gm_optim_config adam = gm_optim_defaults(GM_OPTIM_ADAM);
    cr_assert_eq(e.train.optimizer.kind, GM_OPTIM_ADAM);
    cr_assert_eq(e.train.optimizer.lr, adam.lr);
    cr_assert_eq(e.train.optimizer.beta2, adam.beta2);
    cr_assert_eq(e.eval_every, 100, "eval.every defaults to steps");
    cr_assert_eq(e.checkpoint_every, 100, "checkpoints at every evaluation");
    cr_assert_eq(e.eval_samples, 1000);
    cr_assert_eq(e.eval_held_out, 0, "the whole test split by default");
    cr_assert_eq(e.eval_knn_k, 3, "Kynkaanniemi et al.'s k");
    cr_assert_eq(e.eval_knn_samples, 5000);
    cr_assert_eq(e.n_models, 1);
    const gm_model_spec *vae = model(&e, "vae");
    cr_assert_str_eq(vae->objective, "vae_elbo");
    cr_assert_str_eq(vae->plugin, "");
    cr_assert_eq(vae->latent_dim, 2);
    cr_assert_eq(vae->n_networks, 2);
    const gm_net_spec *enc = network(vae, "encoder");
    cr_assert_eq(enc->n_hidden, 2);
    cr_assert_eq(enc->hidden[0], 128);
    cr_assert_eq(enc->hidden[1], 128);
    cr_assert_eq(enc->activation, GM_ACT_RELU);
    cr_assert_eq(enc->out, 0);
    cr_assert_eq(network(vae, "decoder")->n_hidden, 2);
    cr_assert_eq(vae->params.n, 3);
    ASSERT_FLOAT_EQ(param(vae, "beta"), 1.0);
    cr_assert_str_eq(gm_hparams_choice(&vae->params, "likelihood"), "gaussian");
    cr_assert_eq(param(vae, "learned_sigma"), 0.0);
    cr_assert_eq(vae->train.steps, 100);
    cr_assert_eq(vae->train.batch_size, 64);
    cr_assert_str_eq(e.config_yaml, minimal_doc, "the exact text is kept");
    gm_experiment_clear(&e);
    cr_assert_null(e.models);
    cr_assert_null(e.config_yaml);
}

Test(config_valid, held_out_rows) {
    gm_experiment e;
    const char *set[] = {"eval.held_out=500"};
    load_ok(&e, minimal_doc, set, 1);
    cr_assert_eq(e.eval_held_out, 500);
    cr_assert_str_eq(e.eval_classifier, "", "no classifier by default");
    gm_experiment_clear(&e);
}

Test(config_valid, knn_settings) {
    gm_experiment e;
    const char *set[] = {"eval.knn_k=5", "eval.knn_samples=10000"};
    load_ok(&e, minimal_doc, set, 2);
    cr_assert_eq(e.eval_knn_k, 5);
    cr_assert_eq(e.eval_knn_samples, 10000);
    gm_experiment_clear(&e);
}

Test(config_valid, eval_classifier_and_its_model) {
    gm_experiment e;
    const char *set[] = {"eval.classifier=runs/c.h5",
                         "eval.classifier_model=net"};
    load_ok(&e, minimal_doc, set, 2);
    cr_assert_str_eq(e.eval_classifier, "runs/c.h5");
    cr_assert_str_eq(e.eval_classifier_model, "net");
    gm_experiment_clear(&e);
}

Test(config_valid, full_document) {
    gm_experiment e;
    load_ok(&e, full_doc, NULL, 0);
    cr_assert_str_eq(e.name, "gan_vs_vae");
    cr_assert_str_eq(e.out, "runs/custom.h5");
    cr_assert_eq(e.n_seeds, 3);
    cr_assert_eq(e.seeds[2], 3);
    cr_assert_eq(e.train.steps, 20000);
    cr_assert_eq(e.train.batch_size, 512);
    ASSERT_FLOAT_EQ(e.train.optimizer.lr, 1.0e-4f);
    ASSERT_FLOAT_EQ(e.train.optimizer.beta1, 0.5f);
    cr_assert_eq(e.eval_every, 1000);
    cr_assert_eq(e.eval_samples, 2500);
    cr_assert_eq(e.n_models, 2);
    cr_assert_str_eq(e.models[0].name, "vae", "file order is kept");
    cr_assert_str_eq(e.models[1].name, "gan");
    const gm_model_spec *vae = model(&e, "vae");
    const gm_net_spec *dec = network(vae, "decoder");
    cr_assert_eq(dec->n_hidden, 3);
    cr_assert_eq(dec->hidden[2], 16);
    cr_assert_eq(dec->activation, GM_ACT_LEAKY_RELU);
    ASSERT_FLOAT_EQ(dec->activation_param, 0.1f);
    ASSERT_FLOAT_EQ(param(vae, "beta"), 0.5);
    cr_assert_str_eq(gm_hparams_choice(&vae->params, "likelihood"),
                     "bernoulli");
    cr_assert_eq(param(vae, "learned_sigma"), 1.0);
    const gm_model_spec *gan = model(&e, "gan");
    cr_assert_eq(gan->latent_dim, 4);
    const gm_net_spec *disc = network(gan, "discriminator");
    cr_assert_eq(disc->n_hidden, 1);
    cr_assert_eq(disc->hidden[0], 256);
    cr_assert_eq(disc->activation, GM_ACT_TANH);
    cr_assert_str_eq(gm_hparams_choice(&gan->params, "loss"), "minimax");
    cr_assert_eq(param(gan, "d_steps"), 2.0);
    gm_experiment_clear(&e);
}

Test(config_valid, per_model_train_merges_key_by_key) {
    gm_experiment e;
    load_ok(&e, full_doc, NULL, 0);
    const gm_model_spec *gan = model(&e, "gan");
    ASSERT_FLOAT_EQ(gan->train.optimizer.lr, 2.0e-4f);
    ASSERT_FLOAT_EQ(gan->train.optimizer.beta1, 0.5f); /* from the global */
    ASSERT_FLOAT_EQ(gan->train.optimizer.beta2, 0.999f);
    cr_assert_eq(gan->train.optimizer.kind, GM_OPTIM_ADAM);
    cr_assert_eq(gan->train.steps, 20000);
    cr_assert_eq(gan->train.batch_size, 512);
    const gm_model_spec *vae = model(&e, "vae");
    ASSERT_FLOAT_EQ(vae->train.optimizer.lr, 1.0e-4f);
    gm_experiment_clear(&e);
}

Test(config_valid, per_model_optimizer_kind_takes_its_defaults) {
    static const char doc[] =
        "experiment: x\n"
        "dataset: {name: ring}\n"
        "train: {steps: 10, optimizer: {lr: 0.5}}\n"
        "models:\n"
        "  gan:\n"
        "    objective: gan\n"
        "    train: {batch_size: 8, optimizer: {name: adamw}}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    gm_optim_config adamw = gm_optim_defaults(GM_OPTIM_ADAMW);
    const gm_model_spec *gan = model(&e, "gan");
    cr_assert_eq(gan->train.optimizer.kind, GM_OPTIM_ADAMW);
    ASSERT_FLOAT_EQ(gan->train.optimizer.lr, 0.5f);
    cr_assert_eq(gan->train.optimizer.weight_decay, adamw.weight_decay);
    cr_assert_eq(gan->train.batch_size, 8);
    cr_assert_eq(gan->train.steps, 10);
    cr_assert_eq(e.train.optimizer.kind, GM_OPTIM_ADAM);
    cr_assert_eq(e.train.batch_size, 64);
    gm_experiment_clear(&e);
}

/* The original WGAN's optimizer: RMSprop with its alpha, the rest at
 * torch's defaults. */
Test(config_valid, rmsprop_takes_alpha) {
    static const char doc[] =
        "experiment: x\n"
        "dataset: {name: ring}\n"
        "train: {steps: 10, optimizer: {name: rmsprop, lr: 5.0e-5}}\n"
        "models:\n"
        "  wgan:\n"
        "    objective: gan\n"
        "    train: {optimizer: {alpha: 0.9}}\n"
        "  plain: {objective: gan}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    gm_optim_config rms = gm_optim_defaults(GM_OPTIM_RMSPROP);
    const gm_optim_config *w = &model(&e, "wgan")->train.optimizer;
    const gm_optim_config *p = &model(&e, "plain")->train.optimizer;
    cr_assert(w->kind == GM_OPTIM_RMSPROP && p->kind == GM_OPTIM_RMSPROP);
    ASSERT_FLOAT_EQ(w->lr, 5.0e-5f);
    ASSERT_FLOAT_EQ(w->alpha, 0.9f);
    cr_assert_eq(p->alpha, rms.alpha);
    cr_assert_eq(w->eps, rms.eps);
    cr_assert_eq(w->momentum, 0.0f);
    gm_experiment_clear(&e);
}

Test(config_valid, steps_per_model_only) {
    static const char doc[] = "experiment: x\n"
                              "dataset: {name: ring}\n"
                              "models:\n"
                              "  a: {objective: gan, train: {steps: 30}}\n"
                              "  b: {objective: gan, train: {steps: 50}}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    cr_assert_eq(e.train.steps, 0);
    cr_assert_eq(model(&e, "a")->train.steps, 30);
    cr_assert_eq(model(&e, "b")->train.steps, 50);
    cr_assert_eq(e.eval_every, 50, "default: the longest model's steps");
    gm_experiment_clear(&e);
}

Test(config_valid, set_overrides_apply_and_show_in_config_yaml) {
    const char *sets[] = {"train.steps=2000", "seeds=[4, 5]",
                          "models.gan.params.d_steps=5",
                          "models.vae.params.beta=0.25"};
    static const char doc[] = "experiment: x\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 10}\n"
                              "models:\n"
                              "  vae: {objective: vae_elbo}\n"
                              "  gan:\n"
                              "    objective: gan\n"
                              "    params: {d_steps: 3}\n";
    gm_experiment e;
    load_ok(&e, doc, sets, 4);
    cr_assert_eq(e.train.steps, 2000);
    cr_assert_eq(e.n_seeds, 2);
    cr_assert_eq(e.seeds[1], 5);
    cr_assert_eq(param(model(&e, "gan"), "d_steps"), 5.0);
    ASSERT_FLOAT_EQ(param(model(&e, "vae"), "beta"), 0.25);
    const char *y = e.config_yaml;
    cr_assert(strncmp(y,
                      "# from x.yaml with --set train.steps=2000 --set "
                      "seeds=[4, 5] --set models.gan.params.d_steps=5 --set "
                      "models.vae.params.beta=0.25\n",
                      strlen("# from x.yaml with")) == 0,
              "header: %s", y);
    cr_assert(strstr(y, "--set models.vae.params.beta=0.25\n"), "%s", y);
    cr_assert(strstr(y, "steps: 2000"), "%s", y);
    cr_assert(strstr(y, "d_steps: 5"), "%s", y);
    cr_assert(strstr(y, "beta: 0.25"), "%s", y);
    cr_assert_null(strstr(y, "steps: 10"), "%s", y);

    /* The re-emitted text is the experiment that ran. */
    gm_experiment again;
    load_ok(&again, y, NULL, 0);
    cr_assert_eq(again.train.steps, 2000);
    cr_assert_eq(again.n_seeds, 2);
    cr_assert_eq(again.seeds[0], 4);
    cr_assert_eq(param(model(&again, "gan"), "d_steps"), 5.0);
    ASSERT_FLOAT_EQ(param(model(&again, "vae"), "beta"), 0.25);
    cr_assert_str_eq(again.models[0].name, "vae");
    gm_experiment_clear(&again);
    gm_experiment_clear(&e);
}

Test(config_valid, set_replaces_a_whole_section_with_a_flow_node) {
    const char *sets[] = {"dataset={name: grid, side: 3}", "out=elsewhere.h5"};
    gm_experiment e;
    load_ok(&e, minimal_doc, sets, 2);
    cr_assert_str_eq(e.dataset.name, "grid");
    cr_assert_eq(e.dataset.side, 3);
    ASSERT_FLOAT_EQ(e.dataset.spacing, 2.0);
    ASSERT_FLOAT_EQ(e.dataset.std, 0.05);
    cr_assert_eq(e.dataset.size, 100000);
    cr_assert_str_eq(e.out, "elsewhere.h5");
    gm_experiment_clear(&e);
}

Test(config_valid, set_creates_missing_sections) {
    const char *sets[] = {"eval.every=7", "models.vae.decoder.hidden=[3]",
                          "models.vae.train.optimizer.name=sgd"};
    gm_experiment e;
    load_ok(&e, minimal_doc, sets, 3);
    cr_assert_eq(e.eval_every, 7);
    cr_assert_eq(e.checkpoint_every, 7, "checkpoints follow evaluations");
    const gm_model_spec *vae = model(&e, "vae");
    cr_assert_eq(network(vae, "decoder")->n_hidden, 1);
    cr_assert_eq(network(vae, "decoder")->hidden[0], 3);
    cr_assert_eq(network(vae, "encoder")->n_hidden, 2);
    cr_assert_eq(vae->train.optimizer.kind, GM_OPTIM_SGD);
    cr_assert_eq(vae->train.optimizer.lr, gm_optim_defaults(GM_OPTIM_SGD).lr);
    gm_experiment_clear(&e);
}

Test(config_valid, set_string_value_keeps_its_type_in_config_yaml) {
    /* "1" quoted stays a string; the experiment name is a string anyway. */
    const char *sets[] = {"experiment='007'", "train.steps=1e3"};
    gm_experiment e;
    load_ok(&e, minimal_doc, sets, 2);
    cr_assert_str_eq(e.name, "007");
    cr_assert_eq(e.train.steps, 1000);
    gm_experiment again;
    load_ok(&again, e.config_yaml, NULL, 0);
    cr_assert_str_eq(again.name, "007");
    cr_assert_eq(again.train.steps, 1000);
    gm_experiment_clear(&again);
    gm_experiment_clear(&e);
}

Test(config_valid, later_override_wins) {
    const char *sets[] = {"train.steps=5", "train={steps: 7, batch_size: 3}",
                          "train.batch_size=9"};
    gm_experiment e;
    load_ok(&e, minimal_doc, sets, 3);
    cr_assert_eq(e.train.steps, 7);
    cr_assert_eq(e.train.batch_size, 9);
    gm_experiment_clear(&e);
}

Test(config_valid, full_document_round_trips_through_config_yaml) {
    const char *sets[] = {"models.gan.latent_dim=8"};
    gm_experiment e, again;
    load_ok(&e, full_doc, sets, 1);
    load_ok(&again, e.config_yaml, NULL, 0);
    cr_assert_eq(again.n_models, e.n_models);
    for (int i = 0; i < e.n_models; i++) {
        const gm_model_spec *a = &e.models[i], *b = &again.models[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_eq(a->latent_dim, b->latent_dim);
        cr_assert_eq(a->n_networks, b->n_networks);
        for (int k = 0; k < a->n_networks; k++)
            cr_assert_eq(
                memcmp(&a->networks[k], &b->networks[k], sizeof a->networks[k]),
                0, "%s.%s", a->name, a->networks[k].role);
        cr_assert_eq(memcmp(&a->train, &b->train, sizeof a->train), 0);
        for (int k = 0; k < a->params.n; k++) {
            cr_assert_eq(a->params.item[k].number, b->params.item[k].number);
            cr_assert_str_eq(a->params.item[k].choice,
                             b->params.item[k].choice);
        }
    }
    cr_assert_eq(model(&again, "gan")->latent_dim, 8);
    cr_assert_eq(memcmp(&e.dataset, &again.dataset, sizeof e.dataset), 0);
    cr_assert_eq(e.eval_every, again.eval_every);
    cr_assert_str_eq(e.out, again.out);
    gm_experiment_clear(&again);
    gm_experiment_clear(&e);
}

/* Large networks within gm/limits.h load: 784 -> 8192 -> 8192 -> 4 and
 * back, 141 million parameters, and a layer output of 128 MiB. */
Test(config_valid, large_networks_within_the_limits) {
    gm_experiment e;
    load_ok(&e,
            "experiment: big\n"
            "dataset: {name: fashion_mnist}\n"
            "train: {steps: 1, batch_size: 4096}\n"
            "models:\n"
            "  vae:\n"
            "    objective: vae_elbo\n"
            "    encoder: {hidden: [8192, 8192]}\n"
            "    decoder: {hidden: [8192, 8192]}\n"
            "  shapeless: {objective: shapeless,\n"
            "              generator: {hidden: [10000, 10000]}}\n",
            NULL, 0);
    cr_assert_eq(e.n_models, 2);
    gm_experiment_clear(&e);
}

Test(config_valid, empty_hidden_list_is_a_linear_map) {
    const char *sets[] = {"models.vae.encoder={hidden: [], activation: none}"};
    gm_experiment e;
    load_ok(&e, minimal_doc, sets, 1);
    const gm_net_spec *enc = network(model(&e, "vae"), "encoder");
    cr_assert_eq(enc->n_hidden, 0);
    cr_assert_eq(enc->activation, GM_ACT_NONE);
    gm_experiment_clear(&e);
}

/* A DCGAN's networks as layer lists: every layer kind, its arguments and
 * the defaults of those not given. */
Test(config_valid, layer_lists) {
    gm_experiment e;
    load_ok(&e,
            "experiment: x\n"
            "dataset: {name: fashion_mnist}\n"
            "train: {steps: 10}\n"
            "models:\n"
            "  gan:\n"
            "    objective: gan\n"
            "    latent_dim: 16\n"
            "    generator:\n"
            "      layers:\n"
            "        - {linear: {out: 392}}\n"
            "        - {batch_norm: {momentum: 0.05}}\n"
            "        - relu\n"
            "        - {reshape: [8, 7, 7]}\n"
            "        - {conv_transpose2d: {out: 4, kernel: 4, stride: 2, "
            "padding: 1, bias: false}}\n"
            "        - tanh\n"
            "        - {conv_transpose2d: {out: 1, kernel: 4, stride: 2, "
            "padding: 1}}\n"
            "        - sigmoid\n"
            "    discriminator:\n"
            "      layers:\n"
            "        - {reshape: [1, 28, 28]}\n"
            "        - {conv2d: {out: 4, kernel: 3}}\n"
            "        - {leaky_relu: {slope: 0.1}}\n"
            "        - batch_norm\n"
            "        - flatten\n"
            "        - linear\n",
            NULL, 0);
    const gm_net_spec *g = network(model(&e, "gan"), "generator");
    const gm_net_spec *d = network(model(&e, "gan"), "discriminator");
    cr_assert_eq(g->n_layers, 8);
    cr_assert_eq(g->layers[0].kind, GM_LAYER_LINEAR);
    cr_assert_eq(g->layers[0].out, 392);
    cr_assert_eq(g->layers[1].kind, GM_LAYER_BATCH_NORM);
    ASSERT_FLOAT_EQ(g->layers[1].momentum, 0.05);
    cr_assert_eq(g->layers[1].eps, 0.0f, "0 takes the default");
    cr_assert_eq(g->layers[2].kind, GM_LAYER_RELU);
    cr_assert_eq(g->layers[3].kind, GM_LAYER_RESHAPE);
    cr_assert_eq(g->layers[3].ndim, 3);
    cr_assert_eq(g->layers[3].shape[0], 8);
    cr_assert_eq(g->layers[3].shape[2], 7);
    const gm_layer_spec *up = &g->layers[4];
    cr_assert_eq(up->kind, GM_LAYER_CONV_TRANSPOSE2D);
    cr_assert(up->out == 4 && up->kernel == 4 && up->stride == 2 &&
              up->padding == 1 && up->no_bias);
    cr_assert_eq(g->layers[5].kind, GM_LAYER_TANH);
    cr_assert_not(g->layers[6].no_bias);
    cr_assert_eq(g->layers[7].kind, GM_LAYER_SIGMOID);
    cr_assert_eq(d->n_layers, 6);
    cr_assert(d->layers[1].kind == GM_LAYER_CONV2D &&
              d->layers[1].stride == 1 && d->layers[1].padding == 0);
    cr_assert_eq(d->layers[2].kind, GM_LAYER_LEAKY_RELU);
    ASSERT_FLOAT_EQ(d->layers[2].slope, 0.1);
    cr_assert_eq(d->layers[4].kind, GM_LAYER_FLATTEN);
    cr_assert_eq(d->layers[5].kind, GM_LAYER_LINEAR);
    cr_assert_eq(d->layers[5].out, 0, "the last linear takes the objective's");
    gm_experiment_clear(&e);
}

/* Every activation is a layer kind: elu with its alpha, softplus bare,
 * their shapes checked with the rest (784 in, 1 out). */
Test(config_valid, activation_layers) {
    gm_experiment e;
    load_ok(&e,
            "experiment: x\n"
            "dataset: {name: fashion_mnist}\n"
            "train: {steps: 10}\n"
            "models:\n"
            "  gan:\n"
            "    objective: gan\n"
            "    discriminator:\n"
            "      layers:\n"
            "        - {linear: {out: 8}}\n"
            "        - {elu: {alpha: 0.5}}\n"
            "        - {linear: {out: 8}}\n"
            "        - elu\n"
            "        - softplus\n"
            "        - linear\n",
            NULL, 0);
    const gm_net_spec *d = network(model(&e, "gan"), "discriminator");
    cr_assert_eq(d->n_layers, 6);
    cr_assert_eq(d->layers[1].kind, GM_LAYER_ELU);
    ASSERT_FLOAT_EQ(d->layers[1].alpha, 0.5);
    cr_assert_eq(d->layers[3].kind, GM_LAYER_ELU);
    cr_assert_eq(d->layers[3].alpha, 0.0f, "0 takes the default");
    cr_assert_eq(d->layers[4].kind, GM_LAYER_SOFTPLUS);
    gm_experiment_clear(&e);
}

/* stacked_fashion_mnist: size and seed with their defaults, and 3 x 784
 * values per image for the networks' shapes. */
Test(config_valid, stacked_fashion_mnist) {
    gm_experiment e;
    load_ok(&e,
            "experiment: x\n"
            "dataset: {name: stacked_fashion_mnist, size: 1000, seed: 3}\n"
            "train: {steps: 10}\n"
            "models:\n"
            "  gan:\n"
            "    objective: gan\n"
            "    discriminator: {layers: [{reshape: [3, 28, 28]}, flatten, "
            "linear]}\n",
            NULL, 0);
    cr_assert_str_eq(e.dataset.name, "stacked_fashion_mnist");
    cr_assert_eq(e.dataset.size, 1000);
    cr_assert_eq(e.dataset.seed, 3);
    cr_assert_str_eq(e.dataset.path, "/usr/share/datasets/fashion-mnist");
    gm_experiment_clear(&e);
    load_ok(&e,
            "experiment: x\n"
            "dataset: {name: stacked_fashion_mnist}\n"
            "train: {steps: 10}\n"
            "models: {gan: {objective: gan}}\n",
            NULL, 0);
    cr_assert_eq(e.dataset.size, 60000);
    cr_assert_eq(e.dataset.seed, 1);
    gm_experiment_clear(&e);
    gm_error err = {0};
    cr_assert_eq(load(&e,
                      "experiment: x\n"
                      "dataset: {name: stacked_fashion_mnist}\n"
                      "train: {steps: 10}\n"
                      "models:\n"
                      "  gan:\n"
                      "    objective: gan\n"
                      "    discriminator: {layers: [{reshape: [1, 28, 28]}]}\n",
                      NULL, 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "2352 values cannot be viewed as [1, 28, "
                                  "28]"),
              "%s", err.message);
}

Test(config_valid, grid_and_file_datasets) {
    static const char *const docs[] = {
        "experiment: x\ndataset: {name: grid, side: 4, std: 0.1, size: 50}\n"
        "train: {steps: 1, batch_size: 50}\nmodels: {g: {objective: gan}}\n",
        "experiment: x\ndataset: {name: fashion_mnist}\n"
        "train: {steps: 1}\nmodels: {g: {objective: gan}}\n",
        "experiment: x\ndataset: {name: idx, path: a.idx, test_path: b.idx}\n"
        "train: {steps: 1}\nmodels: {g: {objective: gan}}\n",
        "experiment: x\ndataset: {name: hdf5, path: d.h5, key: /x}\n"
        "train: {steps: 1}\nmodels: {g: {objective: gan}}\n",
    };
    gm_experiment e;
    load_ok(&e, docs[0], NULL, 0);
    cr_assert_eq(e.dataset.side, 4);
    ASSERT_FLOAT_EQ(e.dataset.std, 0.1);
    cr_assert_eq(e.dataset.size, 50);
    gm_experiment_clear(&e);
    load_ok(&e, docs[1], NULL, 0);
    cr_assert_str_eq(e.dataset.path, "/usr/share/datasets/fashion-mnist");
    gm_experiment_clear(&e);
    load_ok(&e, docs[2], NULL, 0);
    cr_assert_str_eq(e.dataset.path, "a.idx");
    cr_assert_str_eq(e.dataset.test_path, "b.idx");
    gm_experiment_clear(&e);
    load_ok(&e, docs[3], NULL, 0);
    cr_assert_str_eq(e.dataset.name, "hdf5");
    cr_assert_str_eq(e.dataset.key, "/x");
    gm_experiment_clear(&e);
}

Test(config_valid, numbers_ints_for_floats_and_integral_floats_for_ints) {
    static const char doc[] =
        "experiment: x\n"
        "dataset: {name: ring, radius: 3, std: 5e-2}\n"
        "train: {steps: 2.0e4, batch_size: +32}\n"
        "models:\n"
        "  vae: {objective: vae_elbo, params: {beta: 7}}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    ASSERT_FLOAT_EQ(e.dataset.radius, 3.0);
    ASSERT_FLOAT_EQ(e.dataset.std, 0.05);
    cr_assert_eq(e.train.steps, 20000);
    cr_assert_eq(e.train.batch_size, 32);
    ASSERT_FLOAT_EQ(param(model(&e, "vae"), "beta"), 7.0);
    gm_experiment_clear(&e);
}

Test(config_valid, null_sections_take_defaults) {
    static const char doc[] = "experiment: x\n"
                              "seeds:\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 5, optimizer: ~}\n"
                              "eval:\n"
                              "models:\n"
                              "  vae:\n"
                              "    objective: vae_elbo\n"
                              "    encoder:\n"
                              "    params: {}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    cr_assert_eq(e.n_seeds, 1);
    cr_assert_eq(e.eval_samples, 1000);
    cr_assert_eq(network(model(&e, "vae"), "encoder")->n_hidden, 2);
    gm_experiment_clear(&e);
}

Test(config_valid, model_order_is_kept) {
    static const char doc[] = "experiment: x\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 5}\n"
                              "models:\n"
                              "  zeta: {objective: gan}\n"
                              "  alpha: {objective: vae_elbo}\n"
                              "  mid-1: {objective: gan}\n";
    gm_experiment e;
    load_ok(&e, doc, NULL, 0);
    cr_assert_eq(e.n_models, 3);
    cr_assert_str_eq(e.models[0].name, "zeta");
    cr_assert_str_eq(e.models[1].name, "alpha");
    cr_assert_str_eq(e.models[2].name, "mid-1");
    cr_assert_eq(e.models[1].n_networks, 2);
    cr_assert_str_eq(e.models[1].networks[0].role, "encoder");
    cr_assert_str_eq(e.models[0].networks[1].role, "discriminator");
    gm_experiment_clear(&e);
}

/* ---- sweeps ------------------------------------------------------------- */

static const char sweep_doc[] = "experiment: x\n"
                                "dataset: {name: ring}\n"
                                "train: {steps: 10}\n"
                                "models:\n"
                                "  first: {objective: gan}\n"
                                "  vae:\n"
                                "    objective: vae_elbo\n"
                                "    latent_dim: 3\n"
                                "    params: {beta: 1.0}\n"
                                "  gan: {objective: gan}\n";

/* The names of e's models, comma-separated. */
static void model_names(const gm_experiment *e, char *out, size_t cap) {
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < e->n_models && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "",
                              e->models[i].name);
}

static void load_sweep(gm_experiment *e, const char *sweep,
                       const char *const *sets, int n) {
    char doc[2048];
    snprintf(doc, sizeof doc, "%ssweep:\n%s", sweep_doc, sweep);
    load_ok(e, doc, sets, n);
}

Test(config_sweep, one_key_replaces_the_model_in_place) {
    gm_experiment e;
    load_sweep(&e, "  models.vae.params.beta: [0.1, 0.25, 1, 4]\n", NULL, 0);
    char names[512];
    model_names(&e, names, sizeof names);
    cr_assert_str_eq(names, "first vae[beta=0.1] vae[beta=0.25] vae[beta=1] "
                            "vae[beta=4] gan");
    const double betas[] = {0.1, 0.25, 1, 4};
    for (int i = 0; i < 4; i++) {
        const gm_model_spec *m = &e.models[1 + i];
        ASSERT_FLOAT_EQ(param(m, "beta"), betas[i]);
        cr_assert_eq(m->latent_dim, 3, "the rest of the model is kept");
        cr_assert_eq(m->n_sweep, 1);
        cr_assert_str_eq(m->sweep[0].key, "params.beta");
        cr_assert(m->sweep[0].is_number);
        cr_assert_not(m->sweep[0].is_integer, "0.1 is not an integer");
        ASSERT_FLOAT_EQ(m->sweep[0].number, betas[i]);
    }
    cr_assert_str_eq(e.models[2].sweep[0].text, "0.25");
    cr_assert_eq(e.models[0].n_sweep, 0);
    cr_assert_eq(e.models[5].n_sweep, 0);
    gm_experiment_clear(&e);
}

Test(config_sweep, two_keys_give_the_cartesian_product_first_key_slowest) {
    gm_experiment e;
    load_sweep(&e,
               "  models.vae.params.beta: [4, 0.5]\n"
               "  models.vae.latent_dim: [8, 32]\n",
               NULL, 0);
    char names[512];
    model_names(&e, names, sizeof names);
    cr_assert_str_eq(names,
                     "first vae[beta=4,latent_dim=8] vae[beta=4,latent_dim=32] "
                     "vae[beta=0.5,latent_dim=8] vae[beta=0.5,latent_dim=32] "
                     "gan");
    const gm_model_spec *m = model(&e, "vae[beta=0.5,latent_dim=32]");
    cr_assert_eq(m->latent_dim, 32);
    ASSERT_FLOAT_EQ(param(m, "beta"), 0.5);
    cr_assert_eq(m->n_sweep, 2);
    cr_assert_str_eq(m->sweep[1].key, "latent_dim");
    cr_assert_str_eq(m->sweep[1].text, "32");
    cr_assert(m->sweep[1].is_integer, "every latent_dim is an integer");
    cr_assert_not(m->sweep[0].is_integer, "0.5 is not");
    gm_experiment_clear(&e);
}

Test(config_sweep, values_are_named_as_written) {
    gm_experiment e;
    load_sweep(&e, "  models.vae.train.optimizer.lr: [1.0e-3, 0.10]\n", NULL,
               0);
    cr_assert_str_eq(e.models[1].name, "vae[lr=1.0e-3]");
    cr_assert_str_eq(e.models[2].name, "vae[lr=0.10]");
    cr_assert_float_eq(e.models[1].train.optimizer.lr, 1.0e-3f, 1e-9);
    cr_assert_str_eq(e.models[1].sweep[0].key, "train.optimizer.lr");
    cr_assert_eq(e.models[0].train.optimizer.lr, e.train.optimizer.lr,
                 "other models keep the global rate");
    gm_experiment_clear(&e);
}

Test(config_sweep, a_shared_last_component_names_more_of_the_path) {
    gm_experiment e;
    load_sweep(&e,
               "  models.vae.encoder.activation: [tanh]\n"
               "  models.vae.decoder.activation: [elu]\n"
               "  models.vae.params.likelihood: [bernoulli]\n",
               NULL, 0);
    const gm_model_spec *m = &e.models[1];
    cr_assert_str_eq(m->name, "vae[encoder.activation=tanh,"
                              "decoder.activation=elu,likelihood=bernoulli]");
    cr_assert_eq(network(m, "encoder")->activation, GM_ACT_TANH);
    cr_assert_eq(network(m, "decoder")->activation, GM_ACT_ELU);
    cr_assert_str_eq(gm_hparams_choice(&m->params, "likelihood"), "bernoulli");
    cr_assert_not(m->sweep[2].is_number, "a string stays a string");
    gm_experiment_clear(&e);
}

Test(config_sweep, a_train_key_sweeps_every_model) {
    gm_experiment e;
    load_sweep(&e,
               "  train.steps: [20, 30]\n"
               "  models.gan.params.d_steps: [2]\n",
               NULL, 0);
    char names[512];
    model_names(&e, names, sizeof names);
    cr_assert_str_eq(names, "first[steps=20] first[steps=30] vae[steps=20] "
                            "vae[steps=30] gan[steps=20,d_steps=2] "
                            "gan[steps=30,d_steps=2]");
    cr_assert_eq(model(&e, "vae[steps=30]")->train.steps, 30);
    cr_assert_eq(model(&e, "gan[steps=20,d_steps=2]")->train.steps, 20);
    cr_assert_eq(param(model(&e, "gan[steps=20,d_steps=2]"), "d_steps"), 2);
    cr_assert_str_eq(e.models[0].sweep[0].key, "train.steps");
    cr_assert_eq(e.train.steps, 10, "the global section is untouched");
    gm_experiment_clear(&e);
}

Test(config_sweep, null_or_empty_sweep_changes_nothing) {
    const char *sweeps[] = {"  {}\n", "  null\n"};
    for (int i = 0; i < 2; i++) {
        char doc[1024];
        snprintf(doc, sizeof doc, "%ssweep:\n%s", sweep_doc, sweeps[i]);
        gm_experiment e;
        load_ok(&e, doc, NULL, 0);
        char names[256];
        model_names(&e, names, sizeof names);
        cr_assert_str_eq(names, "first vae gan", "sweep: %s", sweeps[i]);
        gm_experiment_clear(&e);
    }
}

Test(config_sweep, set_composes_with_the_sweep) {
    const char *sets[] = {"sweep.models.vae.params.beta=[2, 3]",
                          "models.vae.latent_dim=16",
                          "sweep.models.gan.params.loss=[minimax]"};
    gm_experiment e;
    load_sweep(&e, "  models.vae.params.beta: [0.1, 4]\n", sets, 3);
    char names[512];
    model_names(&e, names, sizeof names);
    cr_assert_str_eq(names, "first vae[beta=2] vae[beta=3] gan[loss=minimax]",
                     "the override replaces the file's list");
    cr_assert_eq(model(&e, "vae[beta=3]")->latent_dim, 16,
                 "an override of the model applies to every point");
    gm_experiment_clear(&e);

    const char *off[] = {"sweep=null"};
    load_sweep(&e, "  models.vae.params.beta: [0.1, 4]\n", off, 1);
    model_names(&e, names, sizeof names);
    cr_assert_str_eq(names, "first vae gan");
    gm_experiment_clear(&e);
}

/* The run file stores the document unexpanded; reading it again expands
 * it into the same models (what --resume and gm sample rely on). */
Test(config_sweep, config_yaml_expands_to_the_same_models) {
    const char *sets[] = {"sweep.models.vae.latent_dim=[1, 2]"};
    gm_experiment e, again;
    load_sweep(&e, "  models.vae.params.beta: [0.1, 4]\n", sets, 1);
    cr_assert(strstr(e.config_yaml, "sweep:"), "%s", e.config_yaml);
    cr_assert_null(strstr(e.config_yaml, "vae["), "%s", e.config_yaml);
    load_ok(&again, e.config_yaml, NULL, 0);
    cr_assert_eq(again.n_models, 6);
    cr_assert_eq(again.n_models, e.n_models);
    for (int i = 0; i < e.n_models; i++) {
        const gm_model_spec *a = &e.models[i], *b = &again.models[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_eq(a->latent_dim, b->latent_dim);
        cr_assert_eq(memcmp(&a->params, &b->params, sizeof a->params), 0);
        cr_assert_eq(a->n_sweep, b->n_sweep);
        cr_assert_eq(memcmp(a->sweep, b->sweep, sizeof a->sweep), 0, "%s",
                     a->name);
    }
    gm_experiment_clear(&again);
    gm_experiment_clear(&e);
}

Test(config_file, load_from_file_keeps_exact_text) {
    const char *path = GM_SOURCE_DIR "/tests/fixtures/config/gan_vs_vae.yaml";
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load(&e, path, NULL, 0, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_OK, "%s", err.message);
    cr_assert_str_eq(e.source, path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cr_assert_str_eq(e.config_yaml, text);
    cr_assert_eq(e.n_models, 2);
    cr_assert_eq(model(&e, "gan")->train.steps, 20000);
    gm_experiment_clear(&e);
}

Test(config_file, file_errors_name_the_file) {
    const char *path = GM_SOURCE_DIR "/tests/fixtures/config/bad_lambda.yaml";
    gm_experiment e;
    gm_error err = {0};
    const char *sets[] = {"train.steps=3"};
    gm_status st = gm_config_load(&e, path, sets, 1, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_ERR_INVALID);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:9:20: models.vae.params.beta: expected a number, got "
             "\"high\"",
             path);
    cr_assert_str_eq(err.message, want);
    cr_assert_null(e.models);
}

Test(config_file, missing_file_names_path_and_strerror) {
    gm_experiment e;
    gm_error err = {0};
    gm_status st =
        gm_config_load(&e, "no/such/x.yaml", NULL, 0, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_ERR_NOT_FOUND);
    cr_assert_str_eq(err.message,
                     "no/such/x.yaml: cannot open: No such file or directory");
    cr_assert_null(e.config_yaml);
}

Test(config_file, directory_is_a_read_error) {
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load(&e, GM_SOURCE_DIR "/tests", NULL, 0,
                                  fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_ERR_IO, "%s", err.message);
    cr_assert_str_eq(err.message,
                     GM_SOURCE_DIR "/tests: cannot read: a directory, not a "
                                   "regular file (an experiment is a YAML "
                                   "file)");
}

/* ---- hostile inputs: each must end in an error, never a hang ---------- */

/* These tests' .timeout only turns a hang into a failure: the fixed code
 * answers in well under a second; before, /dev/zero was read until memory
 * ran out, a FIFO blocked in open() and 100,000 keys took minutes. */
#define HANG_GUARD .timeout = 60

Test(config_file, dev_zero_is_refused_not_read_for_ever, HANG_GUARD) {
    gm_experiment e;
    gm_error err = {0};
    gm_status st =
        gm_config_load(&e, "/dev/zero", NULL, 0, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_ERR_IO, "%s", err.message);
    cr_assert_str_eq(err.message, "/dev/zero: cannot read: a device, not a "
                                  "regular file (an experiment is a YAML "
                                  "file)");
    cr_assert_null(e.config_yaml);
}

/* A temporary directory for files the tests make; removed by the caller. */
static void temp_dir(char *dir, size_t cap) {
    snprintf(dir, cap, "/tmp/gm_test_config_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

Test(config_file, fifo_without_writer_is_refused_without_blocking,
     HANG_GUARD) {
    char dir[64], path[96];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.yaml", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load(&e, path, NULL, 0, fake_lookup, NULL, &err);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(st, GM_ERR_IO, "%s", err.message);
    cr_assert(strstr(err.message, "x.yaml: cannot read: a FIFO, not a "
                                  "regular file"),
              "%s", err.message);
}

Test(config_file, file_over_16_mb_is_refused_unread) {
    char dir[64], path[96];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.yaml", dir);
    /* Sparse: no disk space used. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (16 << 20) + 1), 0);
    close(fd);
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load(&e, path, NULL, 0, fake_lookup, NULL, &err);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(st, GM_ERR_INVALID, "%s", err.message);
    cr_assert(strstr(err.message, "x.yaml: 16777217 bytes: an experiment file "
                                  "has at most 16 MB"),
              "%s", err.message);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A dataset's file paths are read from the experiment file's directory,
 * like plugin:, whatever the current directory (issue 27); the text the
 * run file records holds them absolute; a missing one is an error at its
 * key with file:line:column. */
Test(config_file, dataset_paths_are_read_from_the_experiment_directory) {
    char dir[64], sub[96], path[128], data[128], real[PATH_MAX], cwd[PATH_MAX];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    temp_dir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/exp", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/x.yaml", sub);
    snprintf(data, sizeof data, "%s/train.idx", sub);
    write_file(data, "");
    write_file(path, "experiment: x\n"
                          "dataset: {name: idx, path: train.idx}\n"
                          "train: {steps: 10}\n"
                          "models:\n  vae: {objective: vae_elbo}\n");
    cr_assert_not_null(realpath(data, real));
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(chdir(dir), 0, "run from elsewhere than the file's directory");
    gm_status st = gm_config_load(&e, path, NULL, 0, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_OK, "%s", err.message);
    cr_assert_str_eq(e.dataset.path, real);
    cr_assert(strstr(e.config_yaml, real), "recorded absolute:\n%s",
              e.config_yaml);
    gm_experiment again;
    cr_assert_eq(gm_config_load_string(&again, e.config_yaml, "run.h5", NULL,
                                       0, fake_lookup, NULL, &err),
                 GM_OK, "%s", err.message);
    cr_assert_str_eq(again.dataset.path, real, "read back as recorded");
    gm_experiment_clear(&again);
    gm_experiment_clear(&e);

    write_file(path, "experiment: x\n"
                          "dataset: {name: idx, path: train.idx, "
                          "test_path: test.idx}\n"
                          "train: {steps: 10}\n"
                          "models:\n  vae: {objective: vae_elbo}\n");
    st = gm_config_load(&e, path, NULL, 0, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_ERR_INVALID);
    char want[3 * PATH_MAX];
    snprintf(want, sizeof want,
             "%s:2:50: dataset.test_path: %.*s/test.idx: No such file or "
             "directory (a relative path is read from the experiment file's "
             "directory, %.*s)",
             path, (int)(strrchr(real, '/') - real), real,
             (int)(strrchr(real, '/') - real), real);
    cr_assert_str_eq(err.message, want);

    /* A --set path is the shell's: read from the current directory. */
    const char *sets[] = {"dataset.test_path=exp/train.idx"};
    st = gm_config_load(&e, path, sets, 1, fake_lookup, NULL, &err);
    cr_assert_eq(st, GM_OK, "%s", err.message);
    cr_assert_str_eq(e.dataset.test_path, real);
    gm_experiment_clear(&e);
    cr_assert_eq(chdir(cwd), 0);
    unlink(data);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* minimal_doc, then `tail` once per i in [0, n) (with i), then `last`. */
static char *generated_doc(const char *head, const char *tail, int n,
                           const char *last) {
    size_t cap = strlen(head) + (size_t)n * (strlen(tail) + 12) +
                 strlen(last) + 1;
    char *doc = malloc(cap);
    cr_assert_not_null(doc);
    size_t k = (size_t)snprintf(doc, cap, "%s", head);
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(doc + k, cap - k, tail, i);
    snprintf(doc + k, cap - k, "%s", last);
    return doc;
}

/* Loads a generated document and frees it: the error it must give, as
 * refused (GM_ERR_INVALID). */
static gm_error refusal_of(char *doc) {
    gm_experiment e;
    gm_error err = {0};
    gm_status st = load(&e, doc, NULL, 0, &err);
    free(doc);
    cr_assert_eq(st, GM_ERR_INVALID, "%s", err.message);
    return err;
}

Test(config_hostile, hundred_thousand_unknown_keys_give_the_first,
     HANG_GUARD) {
    char *doc = generated_doc("experiment: mini\n"
                              "dataset: {name: ring}\n"
                              "models:\n"
                              "  vae: {objective: vae_elbo}\n"
                              "train:\n"
                              "  steps: 100\n",
                              "  k%d: 1\n", 100000, "");
    gm_error err = refusal_of(doc);
    cr_assert(strstr(err.message, "x.yaml:7:3: train.k0: unknown key "
                                  "\"k0\""),
              "%s", err.message);
}

Test(config_hostile, a_duplicate_after_hundred_thousand_keys_is_found,
     HANG_GUARD) {
    char *doc = generated_doc("experiment: mini\n"
                              "extra:\n",
                              "  k%d: 1\n", 100000, "  k99999: 2\n");
    gm_error err = refusal_of(doc);
    cr_assert_str_eq(err.message,
                     "x.yaml:100003:3: extra.k99999: duplicate key "
                     "\"k99999\" (first at line 100002)");
}

Test(config_hostile, a_hundred_thousand_point_sweep_is_refused_unexpanded,
     HANG_GUARD) {
    char *doc = generated_doc("experiment: mini\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 100}\n"
                              "models:\n"
                              "  vae: {objective: vae_elbo}\n"
                              "sweep:\n"
                              "  models.vae.params.beta: [0",
                              ", 1e-%d", 99999, "]\n");
    gm_error err = refusal_of(doc);
    cr_assert_str_eq(err.message,
                     "x.yaml:7:27: sweep.models.vae.params.beta: 100000 "
                     "values: a sweep makes at most 4096 models; sweep "
                     "fewer values");
}

Test(config_hostile, a_repeated_sweep_value_is_found_among_4000) {
    char *doc = generated_doc("experiment: mini\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 100}\n"
                              "models:\n"
                              "  vae: {objective: vae_elbo}\n"
                              "sweep:\n"
                              "  models.vae.params.beta: [0",
                              ", 1e-%d", 3999, ", 1e-7]\n");
    gm_error err = refusal_of(doc);
    cr_assert(strstr(err.message, "sweep.models.vae.params.beta[4000]: "
                                  "duplicate value 1e-7 (also [8])"),
              "%s", err.message);
}

Test(config_hostile, a_sweep_over_100000_models_is_refused_unexpanded,
     HANG_GUARD) {
    char *doc = generated_doc("experiment: mini\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 100}\n"
                              "sweep: {models.m0.params.beta: [1, 2]}\n"
                              "models:\n",
                              "  m%d: {objective: vae_elbo}\n", 100000, "");
    gm_error err = refusal_of(doc);
    cr_assert_str_eq(err.message, "x.yaml:6:3: models: 100000 models: at "
                                  "most 4096 are allowed");
}

Test(config_hostile, more_than_4096_models_are_refused) {
    char *doc = generated_doc("experiment: mini\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 100}\n"
                              "models:\n",
                              "  m%d: {objective: vae_elbo}\n", 4097, "");
    gm_error err = refusal_of(doc);
    cr_assert_str_eq(err.message, "x.yaml:5:3: models: 4097 models: at most "
                                  "4096 are allowed");
}

Test(config_api, lookup_is_required) {
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load_string(&e, minimal_doc, "x.yaml", NULL, 0,
                                         NULL, NULL, &err);
    cr_assert_eq(st, GM_ERR_INVALID);
    cr_assert(strstr(err.message, "lookup"), "%s", err.message);
}

Test(config_api, unknown_objective_reported_at_its_key) {
    static const char doc[] = "experiment: x\n"
                              "dataset: {name: ring}\n"
                              "train: {steps: 5}\n"
                              "models:\n"
                              "  vae: {objective: vea_elbo}\n";
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, doc, NULL, 0, &err), GM_ERR_NOT_FOUND);
    cr_assert_eq(err.status, GM_ERR_NOT_FOUND);
    cr_assert_str_eq(err.message,
                     "x.yaml:5:20: models.vae.objective: unknown objective "
                     "\"vea_elbo\" (known: vae_elbo, gan)");
    cr_assert_null(e.models);
}

Test(config_api, lookup_status_is_passed_on) {
    static const char doc[] =
        "experiment: x\n"
        "dataset: {name: ring}\n"
        "train: {steps: 5}\n"
        "models: {m: {objective: gan, plugin: libx.so}}\n";
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, doc, NULL, 0, &err), GM_ERR_IO);
    cr_assert_str_eq(err.message,
                     "x.yaml:4:25: models.m.objective: cannot load plugin "
                     "libx.so: no such file");
}

Test(config_api, error_message_is_one_line) {
    const char *sets[] = {"train.steps=\"a\nb\""};
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, minimal_doc, sets, 1, &err), GM_ERR_INVALID);
    cr_assert_null(strchr(err.message, '\n'), "%s", err.message);
    cr_assert(strstr(err.message, "expected an integer"), "%s", err.message);
}

/* ---- invalid documents -------------------------------------------------- */

#define HEAD "experiment: x\ndataset: {name: ring}\n" /* lines 1-2 */
#define TRAIN "train: {steps: 10}\n"                  /* line 3 */
#define MODELS_VAE "models:\n  vae: {objective: vae_elbo}\n"
/* Fashion-MNIST's 784 pixels into a GAN's discriminator given as layers
 * (lines 1-8); the layers follow from line 9. */
#define IMG_HEAD "experiment: x\ndataset: {name: fashion_mnist}\n" TRAIN
#define IMG_DISC                                                               \
    IMG_HEAD "models:\n  gan:\n    objective: gan\n    discriminator:\n"       \
             "      layers:\n"

/* A key path of 259 characters; at most 255 fit. */
#define SEG16 "aaaaaaaaaaaaaaa."
#define SEG64 SEG16 SEG16 SEG16 SEG16
#define LONG_KEY_PATH SEG64 SEG64 SEG64 SEG64 "bbb"

/* Each fails with GM_ERR_INVALID. */
typedef struct invalid_case {
    const char *name;
    const char *doc;
    const char *set[2]; /* overrides, NULL-padded */
    const char *where;  /* "x.yaml:L:C: key.path" or "--set ...: key.path" */
    const char *gist;
} invalid_case;

/* clang-format off */
static const invalid_case invalid_cases[] = {
    {"unknown key with a synonym's suggestion",
     HEAD "train:\n  steps: 10\n  optimizer:\n    lerning_rate: 0.1\n" MODELS_VAE,
     {0}, "x.yaml:6:5: train.optimizer.lerning_rate",
     "unknown key \"lerning_rate\", did you mean \"lr\"?"},
    {"Keras's name for RMSprop's alpha",
     HEAD "train:\n  steps: 10\n  optimizer: {name: rmsprop, rho: 0.9}\n"
     MODELS_VAE,
     {0}, "x.yaml:5:30: train.optimizer.rho",
     "unknown key \"rho\", did you mean \"alpha\"?"},
    {"unknown top-level key",
     "experiment: x\ndataest: {name: ring}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:1: dataest",
     "unknown key \"dataest\", did you mean \"dataset\"?"},
    {"unknown key without suggestion lists the known ones",
     HEAD TRAIN "eval: {often: 3}\n" MODELS_VAE,
     {0}, "x.yaml:4:8: eval.often",
     "unknown key \"often\" (known keys: every, samples, held_out, "
     "classifier, classifier_model, knn_k, knn_samples)"},
    {"eval.classifier_model without eval.classifier",
     HEAD TRAIN "eval: {classifier_model: net}\n" MODELS_VAE,
     {0}, "x.yaml:4:26: eval.classifier_model", "give that file too"},
    {"eval.held_out below 1",
     HEAD TRAIN "eval: {held_out: 0}\n" MODELS_VAE,
     {0}, "x.yaml:4:18: eval.held_out", "must be >= 1, got 0"},
    {"eval.knn_k above 64",
     HEAD TRAIN "eval: {knn_k: 65}\n" MODELS_VAE,
     {0}, "x.yaml:4:15: eval.knn_k", "got 65"},
    {"eval.knn_samples below 2",
     HEAD TRAIN "eval: {knn_samples: 1}\n" MODELS_VAE,
     {0}, "x.yaml:4:21: eval.knn_samples", "must be >= 2, got 1"},
    {"checkpoint.every below 1",
     HEAD TRAIN "checkpoint: {every: 0}\n" MODELS_VAE,
     {0}, "x.yaml:4:21: checkpoint.every", "must be >= 1, got 0"},
    {"blas_threads below 1",
     HEAD TRAIN "blas_threads: 0\n" MODELS_VAE,
     {0}, "x.yaml:4:15: blas_threads", "must be in [1, 64], got 0"},
    {"blas_threads not a number",
     HEAD TRAIN "blas_threads: all\n" MODELS_VAE,
     {0}, "x.yaml:4:15: blas_threads", "expected an integer"},
    {"unknown key under checkpoint",
     HEAD TRAIN "checkpoint: {evry: 5}\n" MODELS_VAE,
     {0}, "x.yaml:4:14: checkpoint.evry", "did you mean \"every\""},
    {"string where a number is expected",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    params: {beta: high}\n",
     {0}, "x.yaml:7:20: models.vae.params.beta",
     "expected a number, got \"high\""},
    {"mapping where a list is expected",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encoder:\n      hidden: {a: 1}\n",
     {0}, "x.yaml:8:15: models.vae.encoder.hidden",
     "expected a list of layer widths, got a mapping"},
    {"string where an integer is expected",
     HEAD "train: {steps: many}\n" MODELS_VAE,
     {0}, "x.yaml:3:16: train.steps",
     "expected an integer, got \"many\""},
    {"fraction where an integer is expected",
     HEAD "train: {steps: 10, batch_size: 2.5}\n" MODELS_VAE,
     {0}, "x.yaml:3:32: train.batch_size",
     "expected an integer, got \"2.5\""},
    {"quoted number is a string",
     HEAD "train: {steps: \"100\"}\n" MODELS_VAE,
     {0}, "x.yaml:3:16: train.steps",
     "expected an integer, got \"100\""},
    {"integer overflow",
     HEAD "train: {steps: 99999999999999999999}\n" MODELS_VAE,
     {0}, "x.yaml:3:16: train.steps",
     "integer out of range, got 99999999999999999999"},
    {"int field beyond int",
     HEAD "train: {steps: 10, batch_size: 3000000000}\n" MODELS_VAE,
     {0}, "x.yaml:3:32: train.batch_size",
     "must be in [1, 2147483647], got 3000000000"},
    {"half-open range",
     HEAD "train:\n  steps: 10\n  optimizer: {beta1: 1.0}\n" MODELS_VAE,
     {0}, "x.yaml:5:22: train.optimizer.beta1",
     "must be in [0, 1), got 1.0"},
    {"rmsprop's alpha in [0, 1)",
     HEAD "train:\n  steps: 10\n  optimizer: {name: rmsprop, alpha: 1.5}\n"
     MODELS_VAE,
     {0}, "x.yaml:5:37: train.optimizer.alpha",
     "must be in [0, 1), got 1.5"},
    {"positive range",
     "experiment: x\ndataset: {name: ring, std: -0.1}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:28: dataset.std",
     "must be > 0, got -0.1"},
    {"float parameter range",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    params: {beta: 2000}\n",
     {0}, "x.yaml:7:20: models.vae.params.beta",
     "must be in [0, 1000], got 2000"},
    {"int parameter range",
     HEAD TRAIN "models:\n  gan:\n    objective: gan\n    params: {d_steps: 0}\n",
     {0}, "x.yaml:7:23: models.gan.params.d_steps",
     "must be in [1, 100], got 0"},
    {"bool parameter",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    params: {learned_sigma: yes}\n",
     {0}, "x.yaml:7:29: models.vae.params.learned_sigma",
     "expected true or false, got \"yes\""},
    {"bad parameter choice",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    params: {likelihood: poisson}\n",
     {0}, "x.yaml:7:26: models.vae.params.likelihood",
     "expected one of gaussian, bernoulli, got \"poisson\""},
    {"misspelt parameter choice",
     HEAD TRAIN "models:\n  gan:\n    objective: gan\n    params: {loss: minmax}\n",
     {0}, "x.yaml:7:20: models.gan.params.loss",
     "unknown value \"minmax\", did you mean \"minimax\"?"},
    {"unknown parameter",
     HEAD TRAIN "models:\n  gan:\n    objective: gan\n    params: {lambda: 5}\n",
     {0}, "x.yaml:7:14: models.gan.params.lambda",
     "unknown key \"lambda\" (known keys: loss, d_steps)"},
    {"duplicate key",
     HEAD "train:\n  steps: 10\n  batch_size: 4\n  steps: 20\n" MODELS_VAE,
     {0}, "x.yaml:6:3: train.steps",
     "duplicate key \"steps\" (first at line 4)"},
    {"duplicate model",
     HEAD TRAIN "models:\n  vae: {objective: vae_elbo}\n  vae: {objective: gan}\n",
     {0}, "x.yaml:6:3: models.vae",
     "duplicate key \"vae\" (first at line 5)"},
    {"missing experiment",
     "dataset: {name: ring}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:1:1: experiment",
     "missing required key"},
    {"missing dataset",
     "experiment: x\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:1:1: dataset",
     "missing required key"},
    {"missing objective",
     HEAD TRAIN "models:\n  vae:\n    latent_dim: 3\n",
     {0}, "x.yaml:6:5: models.vae.objective",
     "missing required key"},
    {"missing steps",
     HEAD MODELS_VAE,
     {0}, "x.yaml:4:8: models.vae.train.steps",
     "missing required key; set train.steps or models.vae.train.steps"},
    {"missing hdf5 key",
     "experiment: x\ndataset: {name: hdf5, path: a.h5}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:10: dataset.key",
     "missing required key"},
    {"null experiment",
     "experiment:\ndataset: {name: ring}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:1:12: experiment",
     "expected a string, got null"},
    {"YAML syntax error",
     HEAD TRAIN "models: vae: x\n",
     {0}, "x.yaml:4:12",
     "YAML syntax error: mapping values are not allowed in this context"},
    {"tab in a block's indentation",
     HEAD TRAIN "models:\n\tvae: {objective: vae}\n",
     {0}, "x.yaml:5:1",
     "a tab in the indentation: YAML indentation must be spaces"},
    {"tab after spaces in a key's indentation",
     HEAD "train:\n  steps: 10\n \tbatch_size: 8\n" MODELS_VAE,
     {0}, "x.yaml:5:2",
     "a tab in the indentation: YAML indentation must be spaces"},
    {"unclosed flow mapping",
     "experiment: x\ndataset: {name: ring\n" TRAIN,
     {0}, "x.yaml:3:6",
     "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 2)"},
    {"two documents",
     "experiment: x\n---\nb: 2\n",
     {0}, "x.yaml:2:1",
     "only one YAML document is allowed"},
    {"anchor",
     HEAD "train: &t {steps: 10}\n" MODELS_VAE,
     {0}, "x.yaml:3:8: train",
     "anchors (&t) and aliases are not supported"},
    {"alias",
     HEAD TRAIN "eval: {every: *x}\n" MODELS_VAE,
     {0}, "x.yaml:4:15: eval.every",
     "aliases (*x) and anchors are not supported"},
    {"tag",
     "experiment: !!str x\n",
     {0}, "x.yaml:1:13: experiment",
     "tags (tag:yaml.org,2002:str) are not supported"},
    {"list key",
     "experiment: x\n[a]: 1\n",
     {0}, "x.yaml:2:1",
     "mapping keys must be strings, not a list"},
    {"top level not a mapping",
     "- a\n- b\n",
     {0}, "x.yaml:1:1",
     "expected a mapping at the top level, got a list"},
    {"empty document",
     "# nothing\n",
     {0}, "x.yaml:1:1",
     "the document is empty"},
    {"bad --set syntax",
     minimal_doc,
     {"trainsteps"}, "--set trainsteps",
     "expected key.path=value"},
    {"--set key path too long",
     minimal_doc,
     {LONG_KEY_PATH "=1"}, "--set " LONG_KEY_PATH "=1",
     "key path longer than 255 characters"},
    {"bad --set key path",
     minimal_doc,
     {"train..steps=5"}, "--set train..steps=5",
     "bad key path \"train..steps\""},
    {"--set without value",
     minimal_doc,
     {"train.steps="}, "--set train.steps=",
     "no value after '='"},
    {"bad --set value",
     minimal_doc,
     {"train.steps=2000", "train.steps=lots"}, "--set train.steps=lots: train.steps",
     "expected an integer, got \"lots\""},
    {"--set value with YAML syntax error",
     minimal_doc,
     {"seeds=[1,2"}, "--set seeds=[1,2",
     "YAML syntax error"},
    {"--set duplicate key inside its value",
     minimal_doc,
     {"train={steps: 1, steps: 2}"}, "--set train={steps: 1, steps: 2}: train.steps",
     "duplicate key \"steps\""},
    {"--set unknown key",
     minimal_doc,
     {"train.stepz=5"}, "--set train.stepz=5: train.stepz",
     "unknown key \"stepz\", did you mean \"steps\"?"},
    {"--set inside a scalar",
     minimal_doc,
     {"dataset.name.kind=1"}, "--set dataset.name.kind=1: dataset.name",
     "is a scalar, not a mapping"},
    {"--set wrong shape",
     minimal_doc,
     {"seeds=5"}, "--set seeds=5: seeds",
     "expected a list of seeds, got \"5\""},
    {"--set new model without objective",
     minimal_doc,
     {"models.extra.latent_dim=3"}, "--set models.extra.latent_dim=3: models.extra.objective",
     "missing required key"},
    {"unknown role key",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    generator: {hidden: [8]}\n",
     {0}, "x.yaml:7:5: models.vae.generator",
     "unknown key \"generator\"; objective vae_elbo takes the networks encoder, decoder"},
    {"misspelt role key",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encodr: {hidden: [8]}\n",
     {0}, "x.yaml:7:5: models.vae.encodr",
     "unknown key \"encodr\", did you mean \"encoder\"?"},
    {"unknown network key",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encoder: {hiden: [8]}\n",
     {0}, "x.yaml:7:15: models.vae.encoder.hiden",
     "unknown key \"hiden\", did you mean \"hidden\"?"},
    {"misspelt activation",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encoder: {activation: relux}\n",
     {0}, "x.yaml:7:27: models.vae.encoder.activation",
     "unknown value \"relux\", did you mean \"relu\"?"},
    {"too many hidden layers",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encoder: {hidden: [1, 2, 3, 4, 5, 6, 7, 8]}\n",
     {0}, "x.yaml:7:23: models.vae.encoder.hidden",
     "at most 7 hidden layers, got 8"},
    {"zero-width layer",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n    encoder: {hidden: [8, 0]}\n",
     {0}, "x.yaml:7:27: models.vae.encoder.hidden[1]",
     "must be >= 1, got 0"},
    {"per-model train unknown key",
     HEAD TRAIN "models:\n  gan:\n    objective: gan\n    train: {optimizer: {betaa: 0.5}}\n",
     {0}, "x.yaml:7:25: models.gan.train.optimizer.betaa",
     "unknown key \"betaa\", did you mean \"beta1\"?"},
    {"per-model train range",
     HEAD TRAIN "models:\n  gan:\n    objective: gan\n    train: {steps: -5}\n",
     {0}, "x.yaml:7:20: models.gan.train.steps",
     "must be >= 1, got -5"},
    {"model is not a mapping",
     HEAD TRAIN "models:\n  vae: [1]\n",
     {0}, "x.yaml:5:8: models.vae",
     "expected a mapping, got a list"},
    {"no models",
     HEAD TRAIN "models: {}\n",
     {0}, "x.yaml:4:9: models",
     "at least one model is required"},
    {"bad model name",
     HEAD TRAIN "models:\n  a.b: {objective: vae_elbo}\n",
     {0}, "x.yaml:5:3: models",
     "a name must be letters, digits, _ or -, got \"a.b\""},
    {"bad experiment name",
     "experiment: \"my exp\"\n",
     {0}, "x.yaml:1:13: experiment",
     "a name must be letters, digits, _ or -, got \"my exp\""},
    {"dataset key of another kind",
     "experiment: x\ndataset: {name: ring, side: 3}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:23: dataset.side",
     "\"side\" is a key of dataset grid, not of ring"},
    {"misspelt dataset name",
     "experiment: x\ndataset: {name: rnig}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:17: dataset.name",
     "unknown value \"rnig\", did you mean \"ring\"?"},
    {"duplicate seed",
     "experiment: x\nseeds: [1, 2, 1]\n",
     {0}, "x.yaml:2:15: seeds[2]",
     "duplicate seed 1 (also seeds[0])"},
    {"negative seed",
     "experiment: x\nseeds: [-1]\n",
     {0}, "x.yaml:2:9: seeds[0]",
     "must be >= 0, got -1"},
    {"no seeds",
     "experiment: x\nseeds: []\n",
     {0}, "x.yaml:2:8: seeds",
     "expected 1 to 64 seeds, got 0"},
    {"malformed number",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: 1e-3.5}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "expected a number, got \"1e-3.5\""},
    {"infinity",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: .inf}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "expected a number, got \".inf\""},
    {"inf",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: inf}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "expected a number, got \"inf\""},
    {"nan",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: nan}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "expected a number, got \"nan\""},
    {"number too large",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: 1e999}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "number out of range, got 1e999"},
    {"float underflows to zero",
     HEAD "train:\n  steps: 10\n  optimizer: {lr: 1e-60}\n" MODELS_VAE,
     {0}, "x.yaml:5:19: train.optimizer.lr",
     "must be > 0, got 1e-60"},
    {"unknown optimizer",
     HEAD "train:\n  steps: 10\n  optimizer: {name: adagrad}\n" MODELS_VAE,
     {0}, "x.yaml:5:21: train.optimizer.name",
     "expected one of sgd, adam, adamw, rmsprop, got \"adagrad\""},
    {"eval range",
     HEAD TRAIN "eval: {every: 0}\n" MODELS_VAE,
     {0}, "x.yaml:4:15: eval.every",
     "must be >= 1, got 0"},
    {"latent_dim too large for memory",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n"
     "    latent_dim: 2147483647\n",
     {0}, "x.yaml:7:17: models.vae.latent_dim",
     "too large: model vae's networks would hold 828928721536 parameters "
     "(3.09e+03 GiB of float32), over gm's limit of 1 GiB of parameters per "
     "model; the largest layer, encoder.2.weight, maps 128 to 4294967294 "
     "features"},
    {"latent_dim override too large for memory",
     HEAD TRAIN MODELS_VAE,
     {"models.vae.latent_dim=2147483647"},
     "--set models.vae.latent_dim=2147483647: models.vae.latent_dim",
     "too large: model vae's networks would hold"},
    {"hidden width too large for memory",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n"
     "    encoder: {hidden: [64, 100000000]}\n",
     {0}, "x.yaml:7:28: models.vae.encoder.hidden[1]",
     "would hold 6900017350 parameters (25.7 GiB of float32)"},
    {"the data's dimension counts in the size",
     "experiment: x\ndataset: {name: fashion_mnist}\n" TRAIN
     "models:\n  vae:\n    objective: vae_elbo\n"
     "    decoder: {hidden: [400000]}\n",
     {0}, "x.yaml:7:24: models.vae.decoder.hidden[0]",
     "would hold 314918292 parameters (1.17 GiB of float32)"},
    {"a data dimension only the file knows counts as 1",
     "experiment: x\ndataset: {name: idx, path: a.idx}\n" TRAIN
     "models:\n  gan:\n    objective: gan\n"
     "    discriminator: {hidden: [100000, 100000]}\n",
     {0}, "x.yaml:7:30: models.gan.discriminator.hidden[0]",
     "would hold at least 10000417026 parameters"},
    {"undeclared shapes count as 1",
     HEAD TRAIN "models:\n  m:\n    objective: shapeless\n"
     "    generator: {hidden: [100000, 100000]}\n",
     {0}, "x.yaml:7:26: models.m.generator.hidden[0]",
     "would hold at least 10000416898 parameters"},
    {"a declared shape of width 0",
     HEAD TRAIN "models:\n  m: {objective: broken}\n",
     {0}, "x.yaml:5:18: models.m.objective",
     "objective broken declares a shape for network generator whose width "
     "can be 0 or negative"},
    {"batch too large for a layer's output",
     "experiment: x\ndataset: {name: ring}\n"
     "train: {steps: 10, batch_size: 100000}\n"
     "models:\n  vae:\n    objective: vae_elbo\n"
     "    encoder: {hidden: [10000]}\n",
     {0}, "x.yaml:3:32: train.batch_size",
     "too large: model vae's encoder.0 output is 10000 wide, and 100000 rows "
     "of it (train.batch_size) would take 3.73 GiB of float32, over gm's "
     "limit of 2 GiB for one layer's output"},
    {"samples too many for a layer's output",
     HEAD TRAIN MODELS_VAE,
     {"eval.samples=1000000000"}, "--set eval.samples=1000000000: eval.samples",
     "and 1000000000 rows of it (eval.samples)"},
    {"ring with more modes than the loader takes",
     "experiment: x\ndataset: {name: ring, modes: 2000000}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:30: dataset.modes",
     "must be in [1, 1000000], got 2000000"},
    {"grid wider than the loader takes",
     "experiment: x\ndataset: {name: grid, side: 1001}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:29: dataset.side",
     "must be in [1, 1000], got 1001"},
    {"mixture larger than the loader takes",
     "experiment: x\ndataset: {name: ring, size: 3000000000}\n" TRAIN
     MODELS_VAE,
     {0}, "x.yaml:2:29: dataset.size",
     "must be in [1, 2147483647], got 3000000000"},
    {"NUL escape in a string",
     "experiment: \"exa\\0mple\"\ndataset: {name: ring}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:1:13: experiment",
     "strings cannot contain a NUL character (\\0)"},
    {"NUL escape in a key",
     HEAD TRAIN "eval: {\"every\\0\": 2}\n" MODELS_VAE,
     {0}, "x.yaml:4:8: eval",
     "strings cannot contain a NUL character"},
    {"NUL escape in a list item",
     HEAD TRAIN "models:\n  vae:\n    objective: vae_elbo\n"
     "    encoder: {hidden: [8, \"\\x00\"]}\n",
     {0}, "x.yaml:7:27: models.vae.encoder.hidden[1]",
     "strings cannot contain a NUL character"},
    {"NUL escape in an override",
     HEAD TRAIN MODELS_VAE,
     {"dataset.path=\"a\\0b\""}, "--set dataset.path=\"a\\0b\": dataset.path",
     "strings cannot contain a NUL character"},
    {"sweep: unknown key inside a model, with a suggestion",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.params.btea: [1]\n",
     {0}, "x.yaml:7:3: models.vae[btea=1].params.btea",
     "unknown key \"btea\", did you mean \"beta\"?"},
    {"sweep: a model that does not exist",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vea.latent_dim: [1]\n",
     {0}, "x.yaml:7:3: sweep.models.vea.latent_dim",
     "no model \"vea\" to sweep, did you mean \"vae\"?"},
    {"sweep: a value out of range points at its list item",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.params.beta: [1, -2]\n",
     {0}, "x.yaml:7:31: models.vae[beta=-2].params.beta",
     "must be in [0, 1000], got -2"},
    {"sweep: a value of the wrong type",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.latent_dim: [2, wide]\n",
     {0}, "x.yaml:7:30: models.vae[latent_dim=wide].latent_dim",
     "expected an integer, got \"wide\""},
    {"sweep: an empty list",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.params.beta: []\n",
     {0}, "x.yaml:7:27: sweep.models.vae.params.beta",
     "empty list: a swept key needs at least one value"},
    {"sweep: a value that is not a list",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.params.beta: 4\n",
     {0}, "x.yaml:7:27: sweep.models.vae.params.beta",
     "expected a non-empty list of values, got \"4\""},
    {"sweep: the same value twice would name two models alike",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.params.beta: [1, 2, 1]\n",
     {0}, "x.yaml:7:34: sweep.models.vae.params.beta[2]",
     "duplicate value 1 (also [0])"},
    {"sweep: a section shared by every model",
     HEAD TRAIN MODELS_VAE "sweep:\n  dataset.size: [10, 20]\n",
     {0}, "x.yaml:7:3: sweep.dataset.size",
     "only models.<name>.<key> (one model) and train.<key> (every model) "
     "can be swept"},
    {"sweep: a misspelt section",
     HEAD TRAIN MODELS_VAE "sweep:\n  modls.vae.latent_dim: [1]\n",
     {0}, "x.yaml:7:3: sweep.modls.vae.latent_dim",
     "unknown section \"modls\", did you mean \"models\"?"},
    {"sweep: a model without a key",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae: [1]\n",
     {0}, "x.yaml:7:3: sweep.models.vae",
     "expected models.<name>.<key>"},
    {"sweep: a value that cannot be part of a name",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.plugin: [a/b.so]\n",
     {0}, "x.yaml:7:23: sweep.models.vae.plugin[0]",
     "\"a/b.so\" cannot be part of a model name"},
    {"sweep: a list value",
     HEAD TRAIN MODELS_VAE "sweep:\n  models.vae.encoder.hidden: [[8]]\n",
     {0}, "x.yaml:7:31: sweep.models.vae.encoder.hidden[0]",
     "lists and mappings cannot be swept"},
    {"sweep: a key inside a scalar",
     HEAD TRAIN "models:\n  vae: {objective: vae_elbo, params: {beta: 1}}\n"
     "sweep:\n  models.vae.params.beta.x: [1]\n",
     {0}, "x.yaml:7:3: sweep.models.vae.params.beta.x",
     "beta in the model is a scalar, not a mapping"},
    {"sweep: a key swept for every model and for one",
     HEAD TRAIN MODELS_VAE "sweep:\n  train.steps: [1]\n"
     "  models.vae.train.steps: [2]\n",
     {0}, "x.yaml:8:3: sweep.models.vae.train.steps",
     "sweeps models.vae.train.steps, which sweep.train.steps sweeps too"},
    {"sweep: names too long",
     HEAD TRAIN MODELS_VAE "sweep:\n"
     "  models.vae.encoder.activation: [" SEG16 SEG16 SEG16 "]\n"
     "  models.vae.decoder.activation: [" SEG16 SEG16 SEG16 "]\n",
     {0}, "x.yaml:5:3: models.vae",
     "names of this model's sweep points would be longer than 127"},
    {"sweep: too many models",
     HEAD TRAIN MODELS_VAE "sweep:\n"
     "  models.vae.params.beta: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
     "  models.vae.latent_dim: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
     "  models.vae.encoder.activation_param: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
     "  models.vae.decoder.activation_param: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
     {0}, "x.yaml:5:3: models.vae",
     "the sweep makes more than 4096 models (this one alone at least 10000)"},
    {"sweep: an override's empty list",
     HEAD TRAIN MODELS_VAE,
     {"sweep.models.vae.latent_dim=[]"},
     "--set sweep.models.vae.latent_dim=[]: sweep.models.vae.latent_dim",
     "empty list"},
    {"sweep: an override's value out of range",
     HEAD TRAIN MODELS_VAE,
     {"sweep.models.vae.latent_dim=[0]"},
     "--set sweep.models.vae.latent_dim=[0]: models.vae[latent_dim=0].latent_dim",
     "must be >= 1, got 0"},
    {"sweep: not a mapping",
     HEAD TRAIN MODELS_VAE "sweep: [models.vae.latent_dim]\n",
     {0}, "x.yaml:6:8: sweep", "expected a mapping, got a list"},
    /* layer lists: each layer's shape against its input, at its item */
    {"reshape to another size",
     IMG_DISC "        - {reshape: [1, 28, 27]}\n",
     {0}, "x.yaml:9:11: models.gan.discriminator.layers[0] (reshape)",
     "input [784]: 784 values cannot be viewed as [1, 28, 27] (756)"},
    {"convolution of flat features",
     IMG_DISC "        - {conv2d: {out: 8, kernel: 3}}\n",
     {0}, "x.yaml:9:11: models.gan.discriminator.layers[0] (conv2d)",
     "input [784]: needs an image [channels, height, width]"},
    {"linear layer on an image",
     IMG_DISC "        - {reshape: [1, 28, 28]}\n"
     "        - {conv2d: {out: 4, kernel: 4, stride: 2, padding: 1}}\n"
     "        - linear\n",
     {0}, "x.yaml:11:11: models.gan.discriminator.layers[2] (linear)",
     "input [4, 14, 14]: needs flat features; put a flatten before it"},
    {"kernel larger than the image",
     IMG_DISC "        - {reshape: [1, 28, 28]}\n"
     "        - {conv2d: {out: 4, kernel: 40}}\n",
     {0}, "x.yaml:10:11: models.gan.discriminator.layers[1] (conv2d)",
     "input [1, 28, 28]: a 40x40 kernel with stride 1 and padding 0 leaves "
     "no output"},
    {"network output of the wrong width",
     IMG_DISC "        - flatten\n        - {linear: {out: 3}}\n",
     {0}, "x.yaml:10:11: models.gan.discriminator.layers[1] (linear)",
     "output [3] has 3 features, but the network must give 1"},
    {"classifier output other than the dataset's classes",
     IMG_HEAD "models:\n  c:\n    objective: classifier\n    classifier:\n"
     "      layers: [flatten, {linear: {out: 3}}]\n",
     {0}, "x.yaml:8:25: models.c.classifier.layers[1] (linear)",
     "output [3] has 3 features, but the network must give 10"},
    {"classifier of stacked images reading one channel",
     "experiment: x\ndataset: {name: stacked_fashion_mnist}\n" TRAIN
     "models:\n  c:\n    objective: classifier\n    classifier:\n"
     "      layers: [{reshape: [1, 28, 28]}, flatten, linear]\n",
     {0}, "x.yaml:8:16: models.c.classifier.layers[0] (reshape)",
     "input [2352]: 2352 values cannot be viewed as [1, 28, 28] (784)"},
    {"unknown layer",
     IMG_DISC "        - {conv: {out: 3}}\n",
     {0}, "x.yaml:9:12: models.gan.discriminator.layers[0]",
     "did you mean \"conv2d\""},
    {"unknown layer argument",
     IMG_DISC "        - {conv2d: {out: 3, kernal: 3}}\n",
     {0}, "x.yaml:9:29: models.gan.discriminator.layers[0].conv2d.kernal",
     "did you mean \"kernel\""},
    {"argument to a layer that takes none",
     IMG_DISC "        - {relu: {slope: 1}}\n",
     {0}, "x.yaml:9:19: models.gan.discriminator.layers[0].relu.slope",
     "relu takes no arguments"},
    {"argument to softplus, which takes none",
     IMG_DISC "        - {softplus: {beta: 2}}\n",
     {0}, "x.yaml:9:23: models.gan.discriminator.layers[0].softplus.beta",
     "softplus takes no arguments"},
    {"elu of a negative alpha",
     IMG_DISC "        - {elu: {alpha: -1}}\n",
     {0}, "x.yaml:9:25: models.gan.discriminator.layers[0].elu.alpha",
     "must be > 0, got -1"},
    {"activation layer on an image keeps its shape",
     IMG_DISC "        - {reshape: [1, 28, 28]}\n        - softplus\n"
     "        - linear\n",
     {0}, "x.yaml:11:11: models.gan.discriminator.layers[2] (linear)",
     "input [1, 28, 28]: needs flat features; put a flatten before it"},
    {"convolution without a kernel",
     IMG_DISC "        - {conv2d: {out: 3}}\n",
     {0}, "x.yaml:9:20: models.gan.discriminator.layers[0].conv2d.kernel",
     "missing required key"},
    {"convolution without its arguments", /* found by fuzz_config_load */
     IMG_DISC "        - conv2d\n",
     {0}, "x.yaml:9:11: models.gan.discriminator.layers[0].conv2d.out",
     "missing required key"},
    {"layer list over the parameter limit",
     IMG_DISC "        - {linear: {out: 16000000}}\n        - linear\n",
     {0}, "x.yaml:9:11: models.gan.discriminator.layers[0]",
     "too large: model gan's networks would hold 12576118033 parameters"},
    {"hidden and layers in one network",
     IMG_HEAD "models:\n  gan:\n    objective: gan\n    discriminator:\n"
     "      hidden: [4]\n      layers: [flatten, linear]\n",
     {0}, "x.yaml:8:15: models.gan.discriminator.hidden",
     "either hidden: [...] (an MLP) or layers: [...], not both"},
    {"a batch larger than the dataset",
     "experiment: x\ndataset: {name: ring, size: 100}\n"
     "train: {steps: 10, batch_size: 101}\n" MODELS_VAE,
     {0}, "x.yaml:3:32: train.batch_size",
     "101 is more than the 100 rows of dataset ring (dataset.size)"},
    {"a model's batch larger than the dataset",
     "experiment: x\ndataset: {name: grid, side: 2, size: 50}\n" TRAIN
     "models:\n  vae: {objective: vae_elbo, train: {batch_size: 64}}\n",
     {0}, "x.yaml:5:50: models.vae.train.batch_size",
     "64 is more than the 50 rows of dataset grid (dataset.size)"},
    {"the default batch larger than the dataset",
     "experiment: x\ndataset: {name: ring, size: 10}\n" TRAIN MODELS_VAE,
     {0}, "x.yaml:2:29: dataset.size",
     "10 rows, fewer than the default batch size 64 of models.vae: set "
     "train.batch_size or models.vae.train.batch_size"},
    {"a swept batch larger than the dataset",
     "experiment: x\ndataset: {name: ring, size: 100}\n" TRAIN MODELS_VAE
     "sweep:\n  train.batch_size: [10, 1000]\n",
     {0}, "x.yaml:7:26: models.vae[batch_size=1000].train.batch_size",
     "1000 is more than the 100 rows of dataset ring"},
    {"a batch larger than the stacked images",
     "experiment: x\ndataset: {name: stacked_fashion_mnist, size: 32}\n"
     TRAIN MODELS_VAE,
     {0}, "x.yaml:2:46: dataset.size",
     "32 rows, fewer than the default batch size 64"},
    {"more held-out rows than a mixture has",
     "experiment: x\ndataset: {name: ring, size: 100}\n"
     "train: {steps: 10, batch_size: 10}\neval: {held_out: 101}\n"
     MODELS_VAE,
     {0}, "x.yaml:4:18: eval.held_out",
     "101 rows, more than the 100 of dataset ring (dataset.size), which has "
     "no test split"},
    {"sweep: more keys than the models can take",
     HEAD TRAIN MODELS_VAE "sweep:\n"
     "  models.vae.params.k1: [1]\n  models.vae.params.k2: [1]\n"
     "  models.vae.params.k3: [1]\n  models.vae.params.k4: [1]\n"
     "  models.vae.params.k5: [1]\n  models.vae.params.k6: [1]\n"
     "  models.vae.params.k7: [1]\n  models.vae.params.k8: [1]\n"
     "  train.steps: [1]\n",
     {0}, "x.yaml:7:3: sweep",
     "9 keys for 1 model: at most 8 keys can be swept in one model"},
    {"sweep: nine keys in one of two models",
     HEAD TRAIN "models:\n  vae: {objective: vae_elbo}\n"
     "  gan: {objective: gan}\nsweep:\n"
     "  models.vae.params.k1: [1]\n  models.vae.params.k2: [1]\n"
     "  models.vae.params.k3: [1]\n  models.vae.params.k4: [1]\n"
     "  models.vae.params.k5: [1]\n  models.vae.params.k6: [1]\n"
     "  models.vae.params.k7: [1]\n  models.vae.params.k8: [1]\n"
     "  train.steps: [1]\n",
     {0}, "x.yaml:16:3: sweep.train.steps",
     "at most 8 keys can be swept in one model"},
    {"--set batch_size larger than the dataset",
     "experiment: x\ndataset: {name: ring, size: 100}\n" TRAIN MODELS_VAE,
     {"models.vae.train.batch_size=200"}, "--set models.vae.train.batch_size=200: models.vae.train.batch_size",
     "200 is more than the 100 rows"},
};
/* clang-format on */
enum { N_INVALID = sizeof invalid_cases / sizeof invalid_cases[0] };

ParameterizedTestParameters(config_invalid, table) {
    size_t *idx = cr_malloc(N_INVALID * sizeof *idx);
    for (size_t i = 0; i < N_INVALID; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_INVALID, NULL);
}

ParameterizedTest(size_t *i, config_invalid, table) {
    const invalid_case *c = &invalid_cases[*i];
    int n_set = c->set[0] ? (c->set[1] ? 2 : 1) : 0;
    gm_experiment e;
    gm_error err = {0};
    gm_status st = load(&e, c->doc, c->set, n_set, &err);
    cr_assert_eq(st, GM_ERR_INVALID, "[%s] status %d: %s", c->name, st,
                 err.message);
    cr_assert_eq(err.status, GM_ERR_INVALID, "[%s]", c->name);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s: ", c->where);
    cr_assert(strncmp(err.message, prefix, strlen(prefix)) == 0,
              "[%s] message \"%s\" does not start with \"%s\"", c->name,
              err.message, prefix);
    cr_assert(strstr(err.message + strlen(prefix), c->gist),
              "[%s] message \"%s\" lacks \"%s\"", c->name, err.message,
              c->gist);
    cr_assert_null(e.models, "[%s] nothing is left allocated", c->name);
    cr_assert_null(e.config_yaml, "[%s]", c->name);
    cr_assert_eq(e.n_models, 0, "[%s]", c->name);
}

/* Every row above names a distinct mistake. */
Test(config_invalid, table_is_complete) {
    for (int i = 0; i < N_INVALID; i++)
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(invalid_cases[i].name, invalid_cases[j].name);
}
