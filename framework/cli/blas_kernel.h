/* The gm command's choice of OpenBLAS kernel (docs/performance.md). */
#ifndef GM_CLI_BLAS_KERNEL_H
#define GM_CLI_BLAS_KERNEL_H

#include <stddef.h>

/* In a gm started only to check a kernel (by cli_blas_choose_kernel):
 * checks it and returns the exit status; otherwise returns -1. */
int cli_blas_check_child(void);

/* The exit status of a gm without memory for OpenBLAS: the one that
 * tells the checking parent so in a kernel-check child, else EXIT_USER. */
int cli_blas_no_memory_status(void);

/* When OPENBLAS_CORETYPE is unset, GM_BLAS_AUTO is not 0 and OpenBLAS
 * loaded a kernel weaker than the CPU runs, checks the better kernel's
 * sgemm in a child process and, if it agrees with a plain product,
 * re-executes gm (argv as given) with OPENBLAS_CORETYPE set to it: does
 * not return then. Otherwise returns, having warned on stderr if the
 * better kernel failed its check. Call before any other work. */
void cli_blas_choose_kernel(char **argv);

/* The kernel in use and who chose it, for messages:
 * "Cooperlake (chosen by gm; OpenBLAS picked Prescott)",
 * "Haswell (OPENBLAS_CORETYPE=Haswell)" or "Cooperlake". */
const char *cli_blas_describe(char *buf, size_t size);

#endif
