// What the tests ask of code that reports failures as h5swmrfs::Error.
#pragma once

#include <functional>

#include "util/error.h"

namespace h5swmrfs::test {

// The errno of the Error that `f` throws; 0 when it throws none.
inline int error_code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

}  // namespace h5swmrfs::test
