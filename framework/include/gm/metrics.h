/* gm/metrics.h: how well samples cover a known mixture.
 *
 * The convention of the VEEGAN and PacGAN papers: a sample is high quality
 * if it lies within 3 standard deviations of its nearest mode; a mode is
 * covered if at least one high-quality sample is nearest to it. */
#ifndef GM_METRICS_H
#define GM_METRICS_H

#include "gm/api.h"
#include "gm/data.h"

GM_API_BEGIN

typedef struct gm_mode_stats {
    int modes_covered;
    double hq_fraction; /* high-quality samples / all samples */
} gm_mode_stats;

/* Counts, for samples [n, dim] of a mixture dataset, the high-quality
 * samples nearest each mode into counts [K] and returns the summary. */
gm_mode_stats gm_mode_stats_compute(const gm_dataset *d, const float *samples,
                                    int n, int *counts);

GM_API_END

#endif
