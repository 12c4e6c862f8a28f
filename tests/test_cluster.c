/* How gm tells that a launcher started it as one of several MPI ranks
 * (gm_cluster_launched_size), which decides whether `gm run` joins an MPI
 * job or, built without MPI, refuses to train (tests/test_mpi.sh runs
 * the ranks themselves). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "gm/cluster.h"

static void no_launcher(void) {
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
}

Test(cluster, alone_without_a_launcher, .init = no_launcher) {
    cr_assert_eq(gm_cluster_launched_size(), 1);
}

Test(cluster, open_mpi_ranks, .init = no_launcher) {
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    cr_assert_eq(gm_cluster_launched_size(), 3);
}

Test(cluster, slurm_or_hydra_ranks, .init = no_launcher) {
    setenv("PMI_SIZE", "16", 1);
    cr_assert_eq(gm_cluster_launched_size(), 16);
}

Test(cluster, one_rank_is_alone, .init = no_launcher) {
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    setenv("PMI_SIZE", "1", 1);
    cr_assert_eq(gm_cluster_launched_size(), 1);
}

Test(cluster, a_value_that_is_no_count_is_alone, .init = no_launcher) {
    setenv("OMPI_COMM_WORLD_SIZE", "many", 1);
    setenv("PMI_SIZE", "-4", 1);
    cr_assert_eq(gm_cluster_launched_size(), 1);
}
