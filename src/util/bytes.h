// A byte buffer whose new bytes are not zeroed: for buffers that are written whole right
// after (a chunk inflated into, a read's reply), where zeroing first costs as much as the
// work itself.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace h5swmrfs::util {

template <class T>
struct UninitializedAllocator : std::allocator<T> {
    using std::allocator<T>::allocator;
    template <class U>
    struct rebind {
        using other = UninitializedAllocator<U>;
    };
    // Value-initialisation (resize(n), vector(n)) leaves the bytes as they are;
    // resize(n, value) and assign still write what they are given.
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

using Bytes = std::vector<std::byte, UninitializedAllocator<std::byte>>;

}  // namespace h5swmrfs::util
