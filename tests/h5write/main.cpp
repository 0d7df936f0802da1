#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "h5/id.h"

int main(int argc, char** argv) {
    // Expected failures must not spray HDF5's error stack over the output.
    h5swmrfs::h5::silence_library_errors();
    return Catch::Session().run(argc, argv);
}
