/* Loaded into gm and the tests with LD_PRELOAD, to stand in for OpenBLAS
 * behaviours that only some machines show:
 *
 * - with OPENBLAS_CORETYPE unset, OpenBLAS seems to have picked Prescott,
 *   as OpenBLAS 0.3.21 does on x86 CPUs it does not know (tests/test_blas.c);
 * - with GM_TEST_WRONG_SGEMM set, every product in a process that has
 *   OPENBLAS_CORETYPE set is off in one element, as a kernel that computes
 *   wrong results would be (tests/test_blas.c);
 * - with GM_TEST_ALLOCATING_SGEMM set, every product allocates and frees a
 *   buffer, as the SkylakeX and Cooperlake small-matrix kernels do
 *   (sgemm_small_kernel_*: gm's pick on AVX-512 CPUs), so that
 *   tests/test_alloc.c meets that behaviour on any machine.
 *
 * Everything else goes to the real OpenBLAS. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

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

/* The small-matrix kernels' buffer: one block of C, allocated per call. */
static void allocate_like_a_small_kernel(blasint m, blasint n) {
    size_t bytes = (size_t)(m > 0 ? m : 1) * (size_t)(n > 0 ? n : 1) * 4;
    void *volatile buffer = malloc(bytes);
    if (buffer) memset(buffer, 0, bytes < 64 ? bytes : 64);
    free(buffer);
}

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta,
                 enum CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                 float alpha, const float *a, blasint lda, const float *b,
                 blasint ldb, float beta, float *c, blasint ldc) {
    sgemm_fn *real = (sgemm_fn *)dlsym(RTLD_NEXT, "cblas_sgemm");
    if (getenv("GM_TEST_ALLOCATING_SGEMM")) allocate_like_a_small_kernel(m, n);
    real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (getenv("GM_TEST_WRONG_SGEMM") && getenv("OPENBLAS_CORETYPE"))
        c[0] += 0.5f;
}
