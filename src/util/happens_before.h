// Orders between threads that ThreadSanitizer cannot see, told to it: nothing in other
// builds. The kernel orders them (its own locks), not this program's memory.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace h5swmrfs::util {

// What this thread did so far happens before what a thread does after happens_after(sync).
inline void happens_before(const void* sync) noexcept {
#if defined(__SANITIZE_THREAD__)
    __tsan_release(const_cast<void*>(sync));
#else
    (void)sync;
#endif
}

inline void happens_after(const void* sync) noexcept {
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(const_cast<void*>(sync));
#else
    (void)sync;
#endif
}

}  // namespace h5swmrfs::util
