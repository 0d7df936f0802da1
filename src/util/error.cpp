#include "util/error.h"

#include <new>

namespace h5swmrfs {

int errno_of(const std::exception& e) noexcept {
    if (auto* err = dynamic_cast<const Error*>(&e)) return err->code() > 0 ? err->code() : EIO;
    if (dynamic_cast<const std::bad_alloc*>(&e)) return ENOMEM;
    return EIO;
}

}  // namespace h5swmrfs
