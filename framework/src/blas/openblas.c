/* OpenBLAS's process-wide state that gm reads or sets: the kernel it
 * loaded and its thread count. */
#include <cblas.h>

#include "gm/blas.h"

const char *gm_blas_core(void) { return openblas_get_corename(); }

int gm_blas_threads(void) { return openblas_get_num_threads(); }

void gm_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
