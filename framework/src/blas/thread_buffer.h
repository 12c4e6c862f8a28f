/* Room for OpenBLAS's buffers, checked before threads multiply. OpenBLAS
 * 0.3.21 retries a failed buffer allocation for ever (blas_memory_alloc in
 * driver/others/memory.c), so under a memory limit (ulimit -v, ulimit -d)
 * a thread without room spins instead of failing, and so does each of
 * OpenBLAS's worker threads, which take a buffer when the library loads
 * and which exit() then waits for (docs/performance.md). The checks are
 * public: gm_blas_buffer_fits and gm_blas_buffers_ready in gm/blas.h. */
#ifndef GM_BLAS_THREAD_BUFFER_H
#define GM_BLAS_THREAD_BUFFER_H

#include "gm/blas.h"

/* What OpenBLAS maps for a buffer: its BUFFER_SIZE (128 MiB in x86-64
 * builds), first asking for two pages more, as strace shows. */
#define GM_BLAS_BUFFER_BYTES (((size_t)128 << 20) + 8192)

#endif
