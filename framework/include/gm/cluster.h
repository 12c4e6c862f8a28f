/* gm/cluster.h: one experiment over the ranks of an MPI job.
 *
 * Under `mpirun -np N gm run x.yaml` (or `srun`) every rank joins the
 * cluster; rank 0 reads the experiment, shares it with the others, owns
 * the run file and trains with its own worker threads, and every other
 * rank trains with its own: each of a rank's threads asks rank 0 for the
 * next (model, seed) run when it is free and sends back the run's
 * evaluation rows, checkpoints and end, which rank 0 writes as the
 * single-process trainer does. The run file is the one a single process
 * writes, bit for bit but for the timings. gm_train_experiment runs the
 * experiment on every rank: pass the cluster in gm_train_options.
 *
 * MPI is optional at build time; without it gm_cluster_available() is
 * false and gm_cluster_join fails with a message saying so. */
#ifndef GM_CLUSTER_H
#define GM_CLUSTER_H

#include <stdbool.h>

#include "gm/api.h"
#include "gm/status.h"

GM_API_BEGIN

typedef struct gm_cluster gm_cluster;

/* True if this gm was built with MPI. */
bool gm_cluster_available(void);

/* The number of ranks a launcher (mpirun, srun, mpiexec) started, from
 * its environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE); 1 when none did. */
int gm_cluster_launched_size(void);

/* Joins the MPI job (MPI_Init_thread). One join per process; leave with
 * gm_cluster_leave, after which MPI is finalised. */
gm_cluster *gm_cluster_join(gm_error *err);

int gm_cluster_rank(const gm_cluster *c);
int gm_cluster_size(const gm_cluster *c);
/* Ranks on this rank's machine (for a default number of threads). */
int gm_cluster_local_size(const gm_cluster *c);

/* Rank 0 gives every rank the experiment document `text` (NULL: rank 0
 * failed, and the others are to stop); every other rank receives it in
 * *received (malloc'd; NULL if rank 0 failed). Every rank calls it once. */
void gm_cluster_share_text(gm_cluster *c, const char *text, char **received);

/* After the text: every rank says how many runs it trains at once (its
 * `jobs`; 0 if it cannot train, e.g. a plugin missing on its machine),
 * and rank 0 learns them. Every rank calls it once, unless rank 0 failed
 * (shared a NULL text). Out of memory here aborts the MPI job: the
 * other ranks would wait for rank 0 for ever. */
void gm_cluster_count_threads(gm_cluster *c, int jobs);

/* On rank 0, after gm_cluster_count_threads: the training threads of
 * all other ranks together. */
int gm_cluster_remote_slots(const gm_cluster *c);

/* Tells every rank still waiting for runs that there are none left and
 * finalises MPI; frees c. */
void gm_cluster_leave(gm_cluster *c);

GM_API_END

#endif
