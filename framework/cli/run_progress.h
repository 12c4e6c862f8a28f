/* gm run's progress output: on a terminal one line redrawn in place, in
 * a pipe one line per evaluation, each with the model's headline metrics
 * (gm/metric_info.h); nothing with --quiet, and nothing more once nobody
 * reads (a closed pipe or terminal). */
#ifndef GM_CLI_RUN_PROGRESS_H
#define GM_CLI_RUN_PROGRESS_H

#include <stdbool.h>

#include "gm/experiment.h"
#include "gm/metric_info.h"
#include "gm/registry.h"
#include "gm/train.h"

typedef struct progress_view {
    bool live; /* a terminal: one line redrawn in place */
    bool quiet;
    /* Each model's headline metrics, in e->models' order, found before
     * training starts. */
    const gm_experiment *e;
    const char *(*headline)[GM_MAX_HEADLINE];
    int *n_headline;
} progress_view;

/* Finds every model's headline metrics; false if out of memory. */
bool progress_view_init(progress_view *v, const gm_experiment *e,
                        gm_registry *reg);
void progress_view_clear(progress_view *v);

/* A gm_progress_fn (gm/train.h) whose ctx is a progress_view. */
void progress_view_report(const gm_progress *p, void *ctx);

#endif
