/* Loaded into gm with LD_PRELOAD by tests/test_blas.c, to drive gm's
 * choice of OpenBLAS kernel on any machine:
 *
 * - with OPENBLAS_CORETYPE unset, OpenBLAS seems to have picked Prescott,
 *   as OpenBLAS 0.3.21 does on x86 CPUs it does not know;
 * - with GM_TEST_WRONG_SGEMM set, every product in a process that has
 *   OPENBLAS_CORETYPE set is off in one element, as a kernel that computes
 *   wrong results would be.
 *
 * Everything else goes to the real OpenBLAS. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void) {
    if (!getenv("OPENBLAS_CORETYPE")) return "Prescott";
    char *(*real)(void) =
        (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
    return real();
}

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
                      enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                      const float *, blasint, const float *, blasint, float,
                      float *, blasint);

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta,
                 enum CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                 float alpha, const float *a, blasint lda, const float *b,
                 blasint ldb, float beta, float *c, blasint ldc) {
    sgemm_fn *real = (sgemm_fn *)dlsym(RTLD_NEXT, "cblas_sgemm");
    real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (getenv("GM_TEST_WRONG_SGEMM") && getenv("OPENBLAS_CORETYPE"))
        c[0] += 0.5f;
}
