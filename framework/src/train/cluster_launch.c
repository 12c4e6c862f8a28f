/* Whether a launcher started this process as one of several MPI ranks:
 * read from the environment, so that a gm built without MPI can tell. */
#include <stdlib.h>

#include "gm/cluster.h"

int gm_cluster_launched_size(void) {
    /* Open MPI's mpirun; Slurm's srun and MPICH's Hydra (PMI) */
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n > 1) return n > 1 << 20 ? 1 << 20 : (int)n;
    }
    return 1;
}
