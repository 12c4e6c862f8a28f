/* Which OpenBLAS kernel the gm command asks for (blas_kernel.c). */
#ifndef GM_CLI_KERNEL_CHOICE_H
#define GM_CLI_KERNEL_CHOICE_H

#include "cpu_features.h"

/* The kernel to set OPENBLAS_CORETYPE to, or NULL to keep `openblas_core`
 * (the kernel OpenBLAS picked by itself): the best kernel `cpu` runs when
 * it is stronger than OpenBLAS's pick. AVX-512 with BF16 gives
 * "Cooperlake", AVX-512 (F, BW, DQ, VL) "SkylakeX", AVX2 with FMA "Zen" on
 * AMD and "Haswell" elsewhere; anything less asks for nothing. A core name
 * gm does not know is kept: a newer OpenBLAS may know the CPU better. A
 * pure function, so that it can be tested with any facts. */
const char *cli_blas_kernel_choice(const cli_cpu_features *cpu,
                                  const char *openblas_core);

#endif
