/* gm/metric_info.h: what a logged metric's number means, for tables and
 * progress lines: its unit and which way is better, and which metrics head
 * a model's results.
 *
 * docs/metrics.md holds the same table with each metric's meaning;
 * tests/test_metric_info.c checks that the two agree. */
#ifndef GM_METRIC_INFO_H
#define GM_METRIC_INFO_H

#include <stdbool.h>

#include "gm/api.h"
#include "gm/experiment.h"

GM_API_BEGIN

typedef enum gm_better {
    GM_BETTER_NEITHER, /* a diagnostic: no value is better in itself */
    GM_BETTER_HIGHER,
    GM_BETTER_LOWER,
} gm_better;

typedef struct gm_metric_info {
    const char *name; /* "loss_<phase>" stands for every phase's loss */
    const char *unit; /* e.g. "nats per example", "modes" */
    gm_better better;
} gm_metric_info;

/* The entry of `name` (loss_<anything> finds "loss_<phase>"), or NULL for
 * a metric gm does not know, e.g. a plugin's own. */
const gm_metric_info *gm_metric_info_find(const char *name);

/* Every entry, in docs/metrics.md's order: index 0..count-1. */
int gm_metric_info_count(void);
const gm_metric_info *gm_metric_info_at(int index);

/* "higher", "lower" or "neither", as docs/metrics.md writes them. */
const char *gm_better_name(gm_better better);

/* The most a model's headline holds: its objective's and gm's own. */
#define GM_MAX_HEADLINE 16

/* A model's headline metrics: its objective's (schema->headline, in its
 * order; none if schema is NULL) then gm's sample-based ones
 * (modes_covered, hq_fraction, kl_data_model, kl_model_data), each once,
 * at most GM_MAX_HEADLINE. Writes the names to out and returns how many. */
int gm_headline_metrics(const gm_objective_schema *schema,
                        const char *out[GM_MAX_HEADLINE]);

/* True if `name` is one of gm's sample-based headline metrics. */
bool gm_metric_is_sample_headline(const char *name);

GM_API_END

#endif
