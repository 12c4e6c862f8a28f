/* gm/blas.h: the BLAS underneath gm.
 *
 * gm's matrix products are OpenBLAS's cblas_sgemm. OpenBLAS picks a kernel
 * for the CPU when it is loaded (the variable OPENBLAS_CORETYPE overrides
 * its pick); the gm command may re-execute itself once with a better one
 * (docs/performance.md). Both settings below are OpenBLAS's own and hold
 * for the whole process. */
#ifndef GM_BLAS_H
#define GM_BLAS_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/api.h"
#include "gm/status.h"

GM_API_BEGIN

/* The OpenBLAS kernel in use, as openblas_get_corename() names it
 * ("Prescott", "Haswell", "Zen", "SkylakeX", "Cooperlake", ...). */
const char *gm_blas_core(void);

/* The number of threads OpenBLAS uses for each matrix product now. */
int gm_blas_threads(void);

/* Sets the number of threads OpenBLAS uses for each matrix product (at
 * least 1), for every thread of the process. gm_train_experiment sets 1
 * itself: see gm/train.h. */
void gm_blas_set_threads(int n);

/* The instruction set oneDNN runs bfloat16 products on here,
 * "avx512_core_amx" (AMX tiles) or "avx512_core_bf16" (AVX512-BF16 dot
 * products), or NULL if the CPU has neither (or the environment variable
 * DNNL_MAX_CPU_ISA hides them): then bfloat16 graphs do not compile. */
const char *gm_bf16_isa(void);

/* Room for OpenBLAS's buffers (128 MiB each). OpenBLAS retries a failed
 * buffer allocation for ever, so under a memory limit (ulimit -v or -d) a
 * thread without room spins instead of failing; these checks turn that
 * into an error (docs/performance.md). */

/* True if one more buffer fits in the address space now (mapped and
 * unmapped at once); otherwise false, with why in `why`: the limit, what
 * is in use and what to do. */
bool gm_blas_buffer_fits(char *why, size_t why_size);

/* Makes sure OpenBLAS's buffer pool holds a buffer for each of `threads`
 * threads multiplying at once, so that no product will need to map one:
 * has OpenBLAS allocate the buffers it lacks, checking before each that it
 * fits. Returns GM_ERR_NOMEM, with the limit in the message, if one does
 * not fit. Call while no other thread multiplies: before starting the
 * threads that will (a buffer taken by another thread meanwhile would be
 * mapped unchecked). gm_train_experiment calls it itself. */
gm_status gm_blas_buffers_ready(int threads, gm_error *err);

GM_API_END

#endif
