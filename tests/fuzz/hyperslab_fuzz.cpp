// libFuzzer target for the byte range <-> hyperslab mapping, over shapes and ranges of any
// size. The unit tests enumerate elements; this checks the same promises by index arithmetic,
// so extents up to 2^64 can be exercised. Any broken promise aborts.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "h5/hyperslab.h"
#include "util/error.h"

// Aborts, naming the broken promise, so that libFuzzer keeps the input.
#define EXPECT(ok) \
    ((ok) ? void() : (std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #ok), std::abort()))

using h5swmrfs::h5::Box;
using u64 = std::uint64_t;
using u128 = unsigned __int128;

namespace {

u64 index_of(const std::vector<u64>& shape, const std::vector<u64>& coords) {
    u64 index = 0;
    for (std::size_t k = 0; k < shape.size(); ++k) index = index * shape[k] + coords[k];
    return index;
}

std::vector<u64> coords_of(const std::vector<u64>& shape, u64 index) {
    std::vector<u64> coords(shape.size());
    for (std::size_t k = shape.size(); k-- > 0;) {
        coords[k] = index % shape[k];
        index /= shape[k];
    }
    return coords;
}

// The C-order run [x, y] is one box: its end points are the box's corners and the box holds
// exactly y - x + 1 elements.
bool run_is_box(const std::vector<u64>& shape, u64 x, u64 y) {
    auto lo = coords_of(shape, x), hi = coords_of(shape, y);
    u128 volume = 1;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (hi[k] < lo[k]) return false;
        volume *= hi[k] - lo[k] + 1;
    }
    return volume == u128{y} - x + 1;
}

u64 pick(FuzzedDataProvider& in, u64 limit) {
    switch (in.ConsumeIntegralInRange(0, 2)) {
        case 0: return in.ConsumeIntegralInRange<u64>(0, limit);
        case 1: return limit - in.ConsumeIntegralInRange<u64>(0, limit < 3 ? limit : 3);
        default: return in.ConsumeIntegral<u64>();  // often out of range on purpose
    }
}

void check_cover(FuzzedDataProvider& in) {
    std::vector<u64> shape(in.ConsumeIntegralInRange(0, 7));
    for (u64& extent : shape) {
        switch (in.ConsumeIntegralInRange(0, 2)) {
            case 0: extent = in.ConsumeIntegralInRange<u64>(0, 6); break;
            case 1: extent = in.ConsumeIntegralInRange<u64>(0, 70000); break;
            default: extent = in.ConsumeIntegral<u64>(); break;
        }
    }
    // The true product, saturated above 2^64 (and 0 whenever any extent is 0).
    u128 exact = 1;
    for (u64 extent : shape) exact = extent == 0 ? 0 : exact > UINT64_MAX ? exact : exact * extent;
    bool overflow = exact > UINT64_MAX;
    u64 total;
    try {
        total = h5swmrfs::h5::element_count(shape);
    } catch (const h5swmrfs::Error& e) {
        EXPECT(overflow && e.code() == EOVERFLOW);
        return;
    }
    EXPECT(!overflow && total == exact);

    u64 first = pick(in, total), count = pick(in, total - (first <= total ? first : total));
    std::vector<Box> boxes;
    try {
        boxes = h5swmrfs::h5::cover_elements(shape, first, count);
    } catch (const h5swmrfs::Error& e) {
        EXPECT(count != 0 && u128{first} + count > total && e.code() == EINVAL);
        return;
    }
    EXPECT(count == 0 || u128{first} + count <= total);
    if (count == 0) return EXPECT(boxes.empty());
    EXPECT(!boxes.empty() && boxes.size() <= (shape.empty() ? 1 : 2 * shape.size() - 1));

    // Each box lies in the shape and is one C-order run; the runs follow on from each other
    // and together are [first, first + count); no two neighbours would make one box.
    u64 next = first;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        const Box& box = boxes[i];
        EXPECT(box.start.size() == shape.size() && box.count.size() == shape.size());
        std::vector<u64> last(shape.size());
        u128 volume = 1;
        for (std::size_t k = 0; k < shape.size(); ++k) {
            EXPECT(box.count[k] >= 1 && box.start[k] < shape[k] &&
                    box.count[k] <= shape[k] - box.start[k]);
            last[k] = box.start[k] + box.count[k] - 1;
            volume *= box.count[k];
        }
        u64 lo = index_of(shape, box.start), hi = index_of(shape, last);
        EXPECT(lo == next && u128{hi} - lo + 1 == volume);
        if (i > 0) EXPECT(!run_is_box(shape, index_of(shape, boxes[i - 1].start), hi));
        next = hi + 1;  // wraps only after the last element of a 2^64 - 1 element array
    }
    EXPECT(next - first == count);
}

void check_bytes(FuzzedDataProvider& in) {
    u64 total = in.ConsumeIntegral<u64>() >> in.ConsumeIntegralInRange(0, 63);
    u64 size = in.ConsumeIntegral<u64>() >> in.ConsumeIntegralInRange(0, 63);
    u64 offset = in.ConsumeIntegral<u64>(), length = in.ConsumeIntegral<u64>();
    u128 bytes = u128{total} * size;
    h5swmrfs::h5::ElementSpan span;
    try {
        span = h5swmrfs::h5::elements_for_bytes(total, size, offset, length);
    } catch (const h5swmrfs::Error& e) {
        EXPECT(bytes > UINT64_MAX && e.code() == EOVERFLOW);
        return;
    }
    EXPECT(bytes <= UINT64_MAX);
    if (length == 0 || offset >= bytes)
        return EXPECT(span.first == 0 && span.count == 0 && span.skip == 0 && span.length == 0);
    u128 end = u128{offset} + length < bytes ? u128{offset} + length : bytes;
    EXPECT(span.length == end - offset && span.skip < size);
    EXPECT(u128{span.first} * size + span.skip == offset);
    EXPECT(span.count >= 1 && u128{span.first} + span.count <= total);
    EXPECT(u128{span.first + span.count - 1} * size < end);   // last element is touched
    EXPECT(u128{span.first + span.count} * size >= end);      // and holds the last byte
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    if (in.ConsumeBool())
        check_cover(in);
    else
        check_bytes(in);
    return 0;
}
