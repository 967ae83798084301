#ifndef SLB_ALLOCATION_COUNTER_H
#define SLB_ALLOCATION_COUNTER_H

#include <stdint.h>

/// Counts calls into the allocator made by the calling thread between start and stop.
/// Linux/glibc only: the test executable defines malloc & co. and forwards them to glibc's
/// __libc_* entry points, so every allocation in the process passes through here. Counting
/// is per thread, so tests running in parallel on other threads do not disturb it.
void slb_allocation_counter_start(void);
/// Stops counting and returns the number of malloc/calloc/realloc/memalign-family calls.
uint64_t slb_allocation_counter_stop(void);
/// 1 when the interposition is active on this platform, 0 when the counter cannot count.
int slb_allocation_counter_available(void);

#endif
