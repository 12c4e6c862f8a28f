/* Counts heap allocations made by any code in the process (gm, OpenBLAS)
 * while counting is on. Plain builds interpose malloc and friends on
 * glibc's own; sanitizer builds use the sanitizer's allocation hooks. */
#ifndef GM_TEST_ALLOC_COUNTER_H
#define GM_TEST_ALLOC_COUNTER_H

#include <stddef.h>

void alloc_counter_start(void);
/* Stops counting and returns the number of allocations since start. */
size_t alloc_counter_stop(void);

#endif
