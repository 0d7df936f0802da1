#include "util/error.h"

#include <string.h>

#include <new>

namespace h5swmrfs {

int errno_of(const std::exception& e) noexcept {
    if (auto* err = dynamic_cast<const Error*>(&e)) return err->code() > 0 ? err->code() : EIO;
    if (dynamic_cast<const std::bad_alloc*>(&e)) return ENOMEM;
    return EIO;
}

std::string errno_name(int error) {
    if (const char* name = ::strerrorname_np(error)) return name;
    return "E" + std::to_string(error);
}

}  // namespace h5swmrfs
