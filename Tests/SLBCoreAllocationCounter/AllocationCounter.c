// Allocation counting for SLBCore's "an established decision allocates nothing" test.
//
// glibc 2.34 removed __malloc_hook, and mallinfo2() only reports bytes (an alloc+free pair in
// between is invisible). Defining the allocator entry points in the test executable is the
// supported interposition route: the dynamic linker resolves every library's malloc to the
// executable's definition, which forwards to glibc's own __libc_* implementation (no dlsym,
// so no recursion during symbol lookup). Counting is a thread-local flag and counter.

#include "AllocationCounter.h"

#if defined(__linux__) && defined(__GLIBC__)

#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static __thread int counting __attribute__((tls_model("initial-exec")));
static __thread uint64_t calls __attribute__((tls_model("initial-exec")));

#define COUNT() do { if (counting) calls++; } while (0)

void *malloc(size_t size) { COUNT(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { COUNT(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { COUNT(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { COUNT(); return __libc_valloc(size); }
void *pvalloc(size_t size) { COUNT(); return __libc_pvalloc(size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    COUNT();
    // POSIX: a power of two multiple of sizeof(void *), else EINVAL; result untouched on error.
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void slb_allocation_counter_start(void) { calls = 0; counting = 1; }
uint64_t slb_allocation_counter_stop(void) { counting = 0; return calls; }
int slb_allocation_counter_available(void) { return 1; }

#else

void slb_allocation_counter_start(void) {}
uint64_t slb_allocation_counter_stop(void) { return 0; }
int slb_allocation_counter_available(void) { return 0; }

#endif
