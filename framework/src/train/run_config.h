/* The resolved configuration of a model's runs: every setting that decides
 * how they train, as "key=value" lines in a fixed order, so that a resumed
 * run can be checked against the settings its checkpoints were trained
 * with, and a mismatch named by its key. Internal to libgm. */
#ifndef GM_TRAIN_RUN_CONFIG_H
#define GM_TRAIN_RUN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gm/experiment.h"

/* The lines of model m of e (malloc'd; NULL if out of memory): the
 * objective, latent_dim, networks, params, the merged train settings, the
 * dataset, eval settings and blas_threads. Keys are the YAML key paths
 * inside the model ("train.optimizer.lr", "encoder.hidden") or of the
 * experiment ("dataset.radius", "eval.every"). Left out, because they do
 * not change what a run computes: the seeds (each run is its own group),
 * checkpoint.every, out, and the plugin's path (the objective's name is
 * in). Numbers are printed in the fewest digits that read back exactly. */
char *gm_run_config_text(const gm_experiment *e, const gm_model_spec *m);

/* FNV-1a (64 bits) of text, for a quick comparison in analysis code. */
uint64_t gm_run_config_digest(const char *text);

/* The "params.<name>=<default>" lines of an objective's hyperparameters
 * at their defaults (malloc'd; NULL if out of memory). */
char *gm_run_config_param_defaults(const gm_hparam_spec *specs, int n);

/* Compares the lines `stored` (the checkpoints') with `now` (the stored
 * experiment's): false if they are the same, else true with the first
 * differing key and both values in why (n bytes), e.g.
 * "train.optimizer.lr is 0.001 in the stored experiment but the
 * checkpoints were trained with 0.0002". A line of `now` that `stored`
 * lacks and that is one of `defaults` (gm_run_config_param_defaults; may
 * be NULL) is no difference: a hyperparameter added to the objective
 * since the checkpoints were written, at its default, changes nothing
 * they computed. */
bool gm_run_config_differs(const char *stored, const char *now,
                           const char *defaults, char *why, size_t n);

#endif
