/* gm/metric_info.h: what a logged metric's number means, for the run
 * file, tables and progress lines: its unit and which way is better, and
 * which metrics head a model's results.
 *
 * Two kinds of metric: gm's own (the sample-based ones gm computes for
 * every model, and the phases' losses), listed in one table with the code
 * that computes them (framework/src/train/own_metrics.c), and each
 * objective's, which its schema declares (gm_objective_schema.metrics).
 * docs/metrics.md holds both with each metric's meaning;
 * tests/test_metric_info.c checks that it agrees with the code. */
#ifndef GM_METRIC_INFO_H
#define GM_METRIC_INFO_H

#include <stdbool.h>

#include "gm/api.h"
#include "gm/experiment.h"

GM_API_BEGIN

/* gm's own entry of `name` (loss_<anything> finds "loss_<phase>", the
 * unit every phase's loss has), or NULL for an objective's metric. */
const gm_metric_info *gm_metric_info_find(const char *name);

/* gm's own entries, in docs/metrics.md's order: index 0..count-1. */
int gm_metric_info_count(void);
const gm_metric_info *gm_metric_info_at(int index);

/* What `name` means in a model of the objective of `schema` (NULL: none):
 * the objective's declaration, else gm's own entry, else NULL. */
const gm_metric_info *gm_metric_info_of(const gm_objective_schema *schema,
                                        const char *name);

/* "higher", "lower" or "neither", as docs/metrics.md and the run file's
 * `better` attributes write them. */
const char *gm_better_name(gm_better better);

/* The most a model's headline holds: its objective's and gm's own. */
#define GM_MAX_HEADLINE 24

/* A model's headline metrics: its objective's (schema->headline, in its
 * order; none if schema is NULL) then gm's sample-based ones
 * (modes_covered, hq_fraction, kl_data_model, kl_model_data, kl_modes),
 * each once, at most GM_MAX_HEADLINE. Writes the names to out and
 * returns how many. */
int gm_headline_metrics(const gm_objective_schema *schema,
                        const char *out[GM_MAX_HEADLINE]);

/* True if `name` is one of gm's sample-based headline metrics. */
bool gm_metric_is_sample_headline(const char *name);

GM_API_END

#endif
