/* What the CPU can run, as far as choosing an OpenBLAS kernel goes.
 * The gm command's (blas_kernel.c). */
#ifndef GM_CLI_CPU_FEATURES_H
#define GM_CLI_CPU_FEATURES_H

#include <stdbool.h>

typedef struct cli_cpu_features {
    bool avx2, fma;
    bool avx512f, avx512bw, avx512dq, avx512vl; /* SkylakeX's kernels */
    bool avx512_bf16;                           /* and Cooperlake's */
    bool amd; /* AVX2 machines get OpenBLAS's Zen kernels, not Haswell's */
} cli_cpu_features;

/* This CPU's features that the operating system also enables (cpuid and
 * xgetbv, through the compiler's runtime); all false off x86. */
cli_cpu_features cli_cpu_features_detect(void);

#endif
