/* Room for OpenBLAS's buffers, checked before threads multiply. OpenBLAS
 * 0.3.21 retries a failed buffer allocation for ever (blas_memory_alloc in
 * driver/others/memory.c), so under a memory limit (ulimit -v, ulimit -d)
 * a thread without room spins instead of failing, and so does each of
 * OpenBLAS's worker threads, which take a buffer when the library loads
 * and which exit() then waits for. Internal to libgm
 * and the gm command (docs/performance.md). */
#ifndef GM_BLAS_THREAD_BUFFER_H
#define GM_BLAS_THREAD_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/status.h"

/* What OpenBLAS maps for a buffer: its BUFFER_SIZE (128 MiB in x86-64
 * builds), first asking for two pages more, as strace shows. */
#define GM_BLAS_BUFFER_BYTES (((size_t)128 << 20) + 8192)

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
 * mapped unchecked). */
gm_status gm_blas_buffers_ready(int threads, gm_error *err);

#endif
