/* gm/cluster.h in a gm built without MPI: joining fails and says so;
 * nothing else can be reached without a cluster. */
#include "remote_runs.h"

bool gm_cluster_available(void) { return false; }

gm_cluster *gm_cluster_join(gm_error *err) {
    gm_error_set(err, GM_ERR_INVALID,
                 "this gm was built without MPI: install libopenmpi-dev and "
                 "rebuild (cmake finds MPI) to run it under mpirun or srun");
    return NULL;
}

int gm_cluster_rank(const gm_cluster *c) { return 0; }
int gm_cluster_size(const gm_cluster *c) { return 1; }
int gm_cluster_local_size(const gm_cluster *c) { return 1; }
int gm_cluster_remote_slots(const gm_cluster *c) { return 0; }

void gm_cluster_share_text(gm_cluster *c, const char *text, char **received) {
    GM_ASSERT(false);
}

void gm_cluster_count_threads(gm_cluster *c, int jobs) { GM_ASSERT(false); }

void gm_cluster_leave(gm_cluster *c) { GM_ASSERT(!c); }

gm_status gm_cluster_train_remote(gm_cluster *c, int slot, gm_run *r,
                                  const gm_run_callbacks *cb, gm_error *err) {
    GM_ASSERT(false);
    return GM_ERR_INVALID;
}

void gm_cluster_release(gm_cluster *c, int slot) { GM_ASSERT(false); }

gm_status gm_cluster_serve(gm_cluster *c, const gm_experiment *e,
                           gm_registry *reg, const gm_train_options *opts,
                           gm_error *err) {
    GM_ASSERT(false);
    return GM_ERR_INVALID;
}
