/* The cost of data-parallel training's one collective: an in-place sum
 * over every rank (MPI_Allreduce) of a buffer the size of a model's
 * gradients, by default the Fashion-MNIST VAE's 652,824 floats
 * (784-400-40 encoder, 20-400-784 decoder). Rank 0 prints the median and
 * the best time of one call after a warm-up, to compare with a training
 * step's time (bench_vae gm).
 *
 * usage: mpirun -np N bench_allreduce [floats] [calls] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

enum { WARMUP = 20 };

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 652824;
    int calls = argc > 2 ? atoi(argv[2]) : 200;
    float *grad = malloc((size_t)n * sizeof *grad);
    double *seconds = malloc((size_t)calls * sizeof *seconds);
    if (n < 1 || calls < 1 || !grad || !seconds) {
        if (rank == 0)
            fprintf(stderr, "usage: bench_allreduce [floats] [calls]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    for (long i = 0; i < n; i++)
        grad[i] = 1e-3f * (float)(i % 1000);
    for (int i = -WARMUP; i < calls; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, grad, (int)n, MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
        double t = MPI_Wtime() - t0;
        if (i >= 0) seconds[i] = t;
    }
    qsort(seconds, (size_t)calls, sizeof *seconds, by_value);
    if (rank == 0)
        printf("ranks=%d floats=%ld MB=%.2f median_ms=%.3f best_ms=%.3f "
               "GB_per_s=%.2f\n",
               size, n, n * 4e-6, 1e3 * seconds[calls / 2], 1e3 * seconds[0],
               n * 4e-9 / seconds[calls / 2]);
    free(grad);
    free(seconds);
    MPI_Finalize();
    return 0;
}
