/* gm/config.h: reading and validating experiment files.
 *
 * An experiment file is YAML (README.md, "The experiment file"). Loading
 * parses it into a tree with positions, applies `--set key.path=value`
 * overrides to that tree, expands a `sweep:` block (each swept model
 * becomes one model per point of the grid of its values, named
 * "vae[beta=4,latent_dim=8]", with its keys and values in
 * gm_model_spec.sweep), and checks every key against the schema: the
 * fixed sections, and for each model the roles and hyperparameters its
 * objective declares (found through a gm_schema_lookup). Errors are one
 * line naming where and which key, e.g.
 *   experiments/x.yaml:12:5: models.gan.params.lambda: expected a number,
 *   got "high"
 * or `--set models.gan.params.lambda=high: ...` when an override is at
 * fault. */
#ifndef GM_CONFIG_H
#define GM_CONFIG_H

#include "gm/api.h"
#include "gm/experiment.h"
#include "gm/status.h"

GM_API_BEGIN

/* Loads the experiment file at `path`, applies the overrides ("a.b.c=value",
 * the value a YAML scalar or flow node) and validates the result into
 * `out`, which the caller frees with gm_experiment_clear. On failure `out`
 * is left empty and err says what and where. */
gm_status gm_config_load(gm_experiment *out, const char *path,
                         const char *const *overrides, int n_overrides,
                         gm_schema_lookup lookup, void *lookup_ctx,
                         gm_error *err);

/* As gm_config_load, from the document `text`; `name_for_messages` stands
 * for the file name in errors and in out->source. */
gm_status gm_config_load_string(gm_experiment *out, const char *text,
                                const char *name_for_messages,
                                const char *const *overrides, int n_overrides,
                                gm_schema_lookup lookup, void *lookup_ctx,
                                gm_error *err);

/* As gm_config_load_string, with only the model `model` checked and kept
 * (out->models holds it alone): what reading one model of a run file
 * needs, when the others' objectives may come from plugins not at hand.
 * An error if the document has no such model. */
gm_status gm_config_load_model(gm_experiment *out, const char *text,
                               const char *name_for_messages, const char *model,
                               gm_schema_lookup lookup, void *lookup_ctx,
                               gm_error *err);

GM_API_END

#endif
