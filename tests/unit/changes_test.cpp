// LocalChanges: which generations a mount can vouch for (a pinned reader goes on only
// when every generation since its own is this mount's and none touched its dataset).
#include <catch2/catch.hpp>

#include "fs/changes.h"

using h5swmrfs::fs::LocalChanges;

TEST_CASE("a reader's dataset is untouched only through an unbroken run of this mount's generations") {
    LocalChanges changes;
    const std::uint64_t g = 1'795'000'000'000'000ULL;  // generations start past the server clock (µs)
    changes.record(g + 1);
    changes.touch(g + 1, 100);
    changes.record(g + 2);
    changes.touch(g + 2, 200);

    CHECK(changes.untouched(g, g, 100));           // nothing happened
    CHECK(changes.untouched(g + 1, g + 2, 100));   // only /200 changed since
    CHECK_FALSE(changes.untouched(g, g + 2, 100)); // g+1 touched it
    CHECK_FALSE(changes.untouched(g + 2, g + 3, 300));  // g+3 is another mount's
    // A generation that went back (a lock state lost or rolled back) is no history at all.
    CHECK_FALSE(changes.untouched(g + 2, g + 1, 300));
    CHECK_FALSE(changes.untouched(g + 2, 5, 300));
    // A gap (a new redis process moved the generation on): the chain is broken.
    changes.record(g + 1000);
    CHECK_FALSE(changes.untouched(g + 2, g + 1000, 300));
}

TEST_CASE("a generation that may have changed anything touches every dataset") {
    LocalChanges changes;
    const std::uint64_t g = 1'795'000'000'000'000ULL;
    changes.record(g + 1);
    changes.touch(g + 1, 100);
    changes.record(g + 2);
    changes.touch(g + 2, 100);
    changes.touch_all(g + 2);  // a write of a virtual dataset writes its sources

    CHECK(changes.untouched(g, g + 1, 200));
    CHECK_FALSE(changes.untouched(g, g + 2, 200));
    CHECK_FALSE(changes.untouched(g + 1, g + 2, 300));
}
