/* The trainer's side of gm/cluster.h: rank 0's worker threads that train
 * through another rank's thread (a "slot"), and the other ranks' loop.
 * Internal to libgm. */
#ifndef GM_TRAIN_REMOTE_RUNS_H
#define GM_TRAIN_REMOTE_RUNS_H

#include "gm/cluster.h"
#include "run.h"

/* On rank 0: trains run r (set up here, with its checkpoint loaded if it
 * has one) on slot `slot`, as gm_run_train would here: r's rows, steps,
 * time and state follow the remote run's, and cb hears of each evaluation,
 * checkpoint and progress report. When cb->stop says so, the remote run
 * is told to checkpoint and stop. Returns the remote run's status. */
gm_status gm_cluster_train_remote(gm_cluster *c, int slot, gm_run *r,
                                  const gm_run_callbacks *cb, gm_error *err);

/* On rank 0: slot `slot` gets no more runs. */
void gm_cluster_release(gm_cluster *c, int slot);

/* On every other rank: trains the runs rank 0 hands to this rank's
 * threads until it has no more; opts->stop (a signal) stops them as it
 * does a single process. */
gm_status gm_cluster_serve(gm_cluster *c, const gm_experiment *e,
                           gm_registry *reg, const gm_train_options *opts,
                           gm_error *err);

#endif
