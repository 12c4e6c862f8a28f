#include <cblas.h>

#include "gm/train.h"

void gm_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
