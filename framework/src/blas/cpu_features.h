/* What the CPU can run, as far as choosing an OpenBLAS kernel goes.
 * Internal to libgm and the gm command. */
#ifndef GM_BLAS_CPU_FEATURES_H
#define GM_BLAS_CPU_FEATURES_H

#include <stdbool.h>

typedef struct gm_cpu_features {
    bool avx2, fma;
    bool avx512f, avx512bw, avx512dq, avx512vl; /* SkylakeX's kernels */
    bool avx512_bf16;                           /* and Cooperlake's */
    bool amd; /* AVX2 machines get OpenBLAS's Zen kernels, not Haswell's */
} gm_cpu_features;

/* This CPU's features that the operating system also enables (cpuid and
 * xgetbv, through the compiler's runtime); all false off x86. */
gm_cpu_features gm_cpu_features_detect(void);

#endif
