#include <string.h>

#include "gm/metrics.h"

gm_mode_stats gm_mode_stats_compute(const gm_dataset *d, const float *samples,
                                    int n, int *counts) {
    int k = gm_dataset_modes(d), dim = gm_dataset_dim(d);
    double limit = 3.0 * gm_dataset_std(d);
    gm_mode_stats s = {0, 0.0};
    memset(counts, 0, (size_t)k * sizeof *counts);
    int hq = 0;
    for (int i = 0; i < n; i++) {
        double dist;
        int mode = gm_dataset_nearest_mode(d, samples + (size_t)i * dim, &dist);
        if (mode >= 0 && dist <= limit) {
            counts[mode]++;
            hq++;
        }
    }
    for (int j = 0; j < k; j++) s.modes_covered += counts[j] > 0;
    s.hq_fraction = n ? (double)hq / n : 0.0;
    return s;
}
