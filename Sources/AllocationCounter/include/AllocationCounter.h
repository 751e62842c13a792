#ifndef STN_ALLOCATION_COUNTER_H
#define STN_ALLOCATION_COUNTER_H
// Counts heap allocations made by this process (malloc, calloc, realloc, posix_memalign,
// aligned_alloc, memalign) by interposing glibc's allocator: the definitions in
// AllocationCounter.c take precedence over libc's and forward to __libc_*.
// Linked only into the engine's test target.
#include <stdint.h>
void stn_allocations_reset(void);
uint64_t stn_allocations_count(void);
#endif
