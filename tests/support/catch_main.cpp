// The one Catch2 main every test program links: compiling Catch2's implementation is
// the heaviest part of the test build, so it is done once per build.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
