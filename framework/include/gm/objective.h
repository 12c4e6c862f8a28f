/* gm/objective.h: the objective plugin API.
 *
 * An objective is one C file that fills a gm_objective: its name, summary,
 * the network roles it takes, its hyperparameters, and a build function.
 * Given a model's settings, build wires networks into
 *   - phases: a graph with a [1] loss and the parameter groups the loss
 *     updates (the VAE has one phase, the GAN a discriminator and a
 *     generator phase). The trainer runs the phases of a step in order,
 *     each `repeats` times: fill the graph's inputs, forward, backward, one
 *     optimizer step per group.
 *   - metrics: [1] nodes marked GM_ROLE_METRIC in any phase graph, logged
 *     under their node names (the standard names, units and meanings are
 *     in docs/metrics.md), averaged over the steps between evaluations;
 *     every metric is declared with its unit in the schema (metrics);
 *   - a sampler: a graph whose node `samples` [n, data_dim] holds draws
 *     x ~ p_model at each forward. A model that does not generate (a
 *     classifier) sets none: gm then skips its sample-based evaluation
 *     and `gm sample` refuses it.
 * Optional hooks (gm_hooks) run before each phase's forward, after each
 * step and at each evaluation.
 *
 * Inputs the trainer fills: a node named "x" of shape [batch, data_dim] in
 * a phase graph receives a fresh data batch before each forward of that
 * phase, and a node named "labels" of shape [batch] (or [batch, 1]) in the
 * same graph the batch's classes, as floats 0..K-1 with K =
 * gm_dataset_classes(ctx->data) (the dataset must have labels). Every
 * other input is the objective's to fill, in its hooks.
 *
 * Built-in objectives live in models/ and are listed in one table; an
 * out-of-tree objective is a shared library exporting
 *   const gm_objective *gm_objective_entry(void);
 * whose result has .abi == GM_OBJECTIVE_ABI. */
#ifndef GM_OBJECTIVE_H
#define GM_OBJECTIVE_H

#include "gm/api.h"
#include "gm/experiment.h"
#include "gm/graph.h"
#include "gm/nn.h"
#include "gm/rng.h"

GM_API_BEGIN

/* Bumped whenever a struct a plugin sees (gm_objective and its schema,
 * gm_build_ctx, gm_model_spec, gm_hooks, gm_net, gm_net_spec,
 * gm_hparam_spec, gm_metric_info, gm_vae_eval_spec, ...) or the gm_model_*
 * functions change shape; tests/test_abi.c records their sizes and
 * offsets with the number and fails, asking for the bump, when one
 * changes without it
 * (2: the schema's network shapes, the state
 * hooks, one optimizer per group; 3: gm_model_spec's longer name and
 * sweep keys, vector evaluation metrics, the held-out row count in the
 * build context, hyperparameter lookups without a fallback, open ranges
 * by default, the schema's headline metrics, networks as lists of layers
 * (a larger gm_net); 4: before_phase gets the phase's name, not its
 * index; labels, in phase graphs and beside the held-out rows of the
 * evaluate hook; models without a sampler; 5: gm_width's classes; 6: the schema
 * declares its metrics with their units and directions, and the
 * properties gm acts on (log_px, classifier_role, accuracy_metric) in
 * place of objective and metric names gm knew; 7: RMSprop, a fourth
 * optimizer kind, and its alpha in gm_optim_config, which the model
 * spec's train settings hold; 8: the train settings' precision,
 * train.precision). */
#define GM_OBJECTIVE_ABI 8

typedef struct gm_dataset gm_dataset;
typedef struct gm_model gm_model;

/* What build gets to know. */
typedef struct gm_build_ctx {
    const gm_model_spec *spec; /* latent_dim, networks, params, train */
    int data_dim;              /* dimension of one data point x */
    int batch_size;
    int sample_count;          /* rows the sampler graph must produce */
    int eval_rows; /* held-out rows the evaluate hook gets (0: none) */
    const gm_dataset *data;    /* for densities (gm/data.h); may be NULL */
    uint64_t seed;
    gm_rng *init;  /* stream for initial parameter values */
    gm_rng *noise; /* parent stream for gm_randn nodes */
} gm_build_ctx;

typedef gm_status (*gm_objective_build_fn)(gm_model *m,
                                           const gm_build_ctx *ctx,
                                           gm_error *err);

typedef struct gm_objective {
    int abi; /* GM_OBJECTIVE_ABI */
    gm_objective_schema schema;
    gm_objective_build_fn build;
} gm_objective;

/* Builds in *net the network of `role` as the YAML describes it (an MLP's
 * hidden widths and activation, or a list of layers), from `in` to `out`
 * features, in a new parameter group named after the role and owned by
 * the model, which is returned. Batch norm layers keep their running
 * statistics in a second group, "<role>.stats", also the model's, which
 * no phase trains. NULL with err set on failure. */
gm_params *gm_model_network(gm_model *m, const gm_build_ctx *ctx,
                            const char *role, int in, int out, gm_net *net,
                            gm_error *err);

/* A parameter group the model owns (e.g. a frozen copy made with
 * gm_params_clone); the model frees it. */
gm_status gm_model_adopt_params(gm_model *m, gm_params *p, gm_error *err);

/* Adds a phase named `name` (its loss is logged as loss_<name>) that
 * minimises `loss` over `groups`, `repeats` times per step. A name is
 * one phase's: a second phase of the same name is refused. The phases
 * of a step run in the order they were added. The model takes
 * ownership of g, which it compiles. The groups must be the model's
 * (gm_model_network, gm_model_adopt_params). Each group has one optimizer,
 * made from the model's train settings when a phase first names it and
 * shared by every phase that trains the group. */
gm_status gm_model_add_phase(gm_model *m, const char *name, gm_graph *g,
                             gm_node *loss, gm_params *const *groups,
                             int n_groups, int repeats, gm_error *err);

/* Gives the optimizers of phase `phase` their own learning rate (e.g. a
 * GAN's discriminator and generator). An error if one of its groups is
 * also trained by another phase (a group has one optimizer). */
gm_status gm_model_set_phase_lr(gm_model *m, const char *phase, float lr,
                                gm_error *err);

/* Clamps every value of the groups phase `phase` trains to [-clip, clip]
 * before each of its forwards (and before the before_phase hook), as the
 * original WGAN clips its critic (Arjovsky et al. 2017, `p.data.clamp_`
 * at the start of each critic iteration): the phase's loss always sees
 * clipped values, while the other phases see them as the phase's last
 * update left them. clip 0 (the default) clips nothing. A group's other
 * phases do not clip it. */
gm_status gm_model_set_phase_clip(gm_model *m, const char *phase, float clip,
                                  gm_error *err);

/* The sampler: `samples` [ctx->sample_count, data_dim] in g, which the
 * model takes and compiles. Optional: a model without one is trained and
 * evaluated by its hooks only. */
gm_status gm_model_set_sampler(gm_model *m, gm_graph *g, gm_node *samples,
                               gm_error *err);

/* Records a fact about the model as an attribute of /models/<name> in the
 * run file (at most GM_MAX_MODEL_ATTRS), e.g. whether a metric includes a
 * term. */
#define GM_MAX_MODEL_ATTRS 8
gm_status gm_model_set_attr(gm_model *m, const char *name, double value,
                            gm_error *err);

/* Called before each forward of every phase (repeat counts from 0 within
 * the step): the place to fill the objective's own inputs. `phase` is the
 * name the phase was added with (gm_model_add_phase), so a hook tests
 *   if (strcmp(phase, "generator") != 0) return GM_OK;
 * and stays right whatever order the phases are added in. */
typedef gm_status (*gm_before_phase_fn)(void *state, const char *phase,
                                        int repeat, long step, gm_error *err);

/* Called after every training step (step counts from 1). */
typedef gm_status (*gm_after_step_fn)(void *state, long step, gm_error *err);

/* Called at each evaluation with `n` held-out data rows [n, data_dim]
 * (n <= gm_build_ctx.eval_rows) and their classes labels [n] (NULL when
 * the dataset has no labels); writes one value per name in
 * gm_hooks.eval_metrics into out, then the vectors of
 * gm_hooks.eval_vectors one after the other (eval_vector_lens[i] values
 * each). */
typedef gm_status (*gm_evaluate_fn)(void *state, const float *data,
                                    const int *labels, int n, double *out,
                                    gm_error *err);

/* Writes what the objective's hooks keep from one step to the next (a
 * random stream, a counter, a schedule's current value) as records under
 * `prefix` of a run state (gm/state.h); `load` puts it back into a model
 * built the same way. gm saves the parameters, optimizers, the random
 * nodes of the phase and sampler graphs, and the trainer's own state; an
 * objective saves only its own, e.g. the random nodes of graphs it keeps
 * itself with gm_graph_save_state. A resumed run must continue bit for
 * bit as if never stopped. */
typedef gm_status (*gm_save_state_fn)(const void *state, gm_state *out,
                                      const char *prefix, gm_error *err);
typedef gm_status (*gm_load_state_fn)(void *state, const gm_state *in,
                                      const char *prefix, gm_error *err);

#define GM_MAX_EVAL_METRICS 16
#define GM_MAX_EVAL_VECTORS 4
#define GM_MAX_EVAL_VECTOR_LEN 65536

/* An objective's optional hooks and the state they share; every member
 * may be NULL. The model frees state with free_state when it goes. */
typedef struct gm_hooks {
    void *state;
    void (*free_state)(void *state);
    gm_before_phase_fn before_phase;
    gm_after_step_fn after_step;
    gm_evaluate_fn evaluate;
    const char *const *eval_metrics; /* names of what evaluate writes */
    int n_eval_metrics;
    /* Vectors evaluate writes after the scalars (e.g. the KL of each
     * latent dimension): names, lengths; each is logged as a series
     * [evaluations, length] under vectors/<name>. */
    const char *const *eval_vectors;
    const int *eval_vector_lens;
    int n_eval_vectors;
    gm_save_state_fn save_state; /* needed whenever the hooks keep state */
    gm_load_state_fn load_state;
} gm_hooks;

/* Installs the hooks. On failure the state is freed all the same. */
gm_status gm_model_set_hooks(gm_model *m, const gm_hooks *hooks,
                             gm_error *err);

GM_API_END

#endif
