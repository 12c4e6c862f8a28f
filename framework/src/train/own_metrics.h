/* gm's own metrics of a run: the rows of own_metrics.c's table that apply
 * to it, logged after the objective's. Internal to libgm. */
#ifndef GM_TRAIN_OWN_METRICS_H
#define GM_TRAIN_OWN_METRICS_H

#include "run.h"

/* Picks the table's sources that apply to the run (its model generates,
 * its dataset is a mixture or has a known density, eval.classifier...),
 * prepares what they need (mode counts, the classifier's instance, the
 * data term of the IWAE KL) and appends their metrics to r->names and
 * r->infos, in the table's order. After the objective's metrics. */
gm_status gm_own_metrics_setup(gm_run *r, gm_error *err);

/* At each evaluation: begin, add each draw of the sampler (n rows of
 * samples; the last draw's n stops at eval.samples), then compute. */

/* True if a source of the run reads every sample at once in compute
 * (r->samples [eval.samples, dim]): the mixtures' modes and KDE; the
 * others take the draws as they come. */
bool gm_own_metrics_need_all_samples(const gm_run *r);

void gm_own_metrics_begin(gm_run *r);
void gm_own_metrics_add(gm_run *r, const float *samples, int n);

/* Writes the run's own metrics into row[at...], in the order setup named
 * them, and the mode counts into mode_counts [r->k_modes] (NULL when
 * k_modes is 0); row[0..at) holds the objective's values and, if
 * gm_own_metrics_need_all_samples, r->samples eval.samples fresh samples.
 * Returns the slot after the last. */
int gm_own_metrics_compute(gm_run *r, double *row, int at, int *mode_counts);

/* The real-data floor, for the first run of an experiment (at the end of
 * its setup; images are put in r->samples, which the first evaluation
 * overwrites):
 * the metrics of gm's own sample-based sources (not those that read the
 * objective's row) on eval.samples real rows in place of samples: the
 * test split's images (restacked beyond its rows) with eval.classifier,
 * a fresh sample of a mixture. Into r->floor_values and r->floor_infos
 * (r->n_floor of them, 0 when the run has none: no sample metrics, an
 * image dataset without a test split, a mixture of fewer rows than
 * eval.samples) and what the rows were into r->floor_rows. */
gm_status gm_own_metrics_floor(gm_run *r, gm_error *err);

#endif
