/* gm/blas.h: the BLAS underneath gm.
 *
 * gm's matrix products are OpenBLAS's cblas_sgemm. OpenBLAS picks a kernel
 * for the CPU when it is loaded (the variable OPENBLAS_CORETYPE overrides
 * its pick); the gm command may re-execute itself once with a better one
 * (docs/performance.md). Both settings below are OpenBLAS's own and hold
 * for the whole process. */
#ifndef GM_BLAS_H
#define GM_BLAS_H

/* The OpenBLAS kernel in use, as openblas_get_corename() names it
 * ("Prescott", "Haswell", "Zen", "SkylakeX", "Cooperlake", ...). */
const char *gm_blas_core(void);

/* The number of threads OpenBLAS uses for each matrix product now. */
int gm_blas_threads(void);

/* Sets the number of threads OpenBLAS uses for each matrix product (at
 * least 1), for every thread of the process. gm_train_experiment sets 1
 * itself: see gm/train.h. */
void gm_blas_set_threads(int n);

#endif
