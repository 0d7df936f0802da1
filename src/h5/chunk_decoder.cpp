#include "h5/chunk_decoder.h"

#ifdef H5SWMRFS_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

#include <algorithm>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "util/error.h"

namespace h5swmrfs::h5 {
namespace {

constexpr std::size_t kChecksumBytes = 4;

[[noreturn]] void corrupt(const std::string& what) { throw Error(EIO, what); }

// The checksum is stored little-endian after the data. HDF5 before 1.6.3 stored the two
// 16-bit halves byte-swapped on little-endian hosts; HDF5 accepts both, so do we.
// Returns the data without its checksum.
std::span<const std::byte> verify_fletcher32(std::span<const std::byte> data) {
    if (data.size() < kChecksumBytes) corrupt("fletcher32: " + std::to_string(data.size()) + " bytes, too few for a checksum");
    const std::size_t length = data.size() - kChecksumBytes;
    std::uint32_t stored = 0;
    for (std::size_t i = 0; i < kChecksumBytes; ++i)
        stored |= static_cast<std::uint32_t>(std::to_integer<unsigned>(data[length + i])) << (8 * i);
    const std::uint32_t sum = fletcher32(data.first(length));
    const std::uint32_t reversed = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
    if (stored != sum && stored != reversed) corrupt("fletcher32 checksum mismatch");
    return data.first(length);
}

// `limit`: more than this many bytes out is corruption (no stage of the pipeline makes a
// chunk larger than its decoded size plus the checksums after it). What follows the end of
// the stream is ignored, as HDF5 does. The bytes go into `out`, whose memory is reused.
#ifdef H5SWMRFS_LIBDEFLATE
// libdeflate inflates whole buffers about twice as fast as zlib; one decompressor per thread.
void inflate_into(std::span<const std::byte> in, std::size_t limit, util::Bytes& out) {
    struct Free {
        void operator()(libdeflate_decompressor* d) const noexcept { libdeflate_free_decompressor(d); }
    };
    thread_local std::unique_ptr<libdeflate_decompressor, Free> decompressor(libdeflate_alloc_decompressor());
    if (!decompressor) throw Error(ENOMEM, "inflate: cannot start");
    out.resize(limit);
    std::size_t produced = 0;
    switch (libdeflate_zlib_decompress(decompressor.get(), in.data(), in.size(), out.data(), out.size(), &produced)) {
        case LIBDEFLATE_SUCCESS: break;
        case LIBDEFLATE_INSUFFICIENT_SPACE: corrupt("inflate failed: the stream is longer than a chunk");
        default: corrupt("inflate failed: bad or truncated stream");
    }
    out.resize(produced);
}
#else
void inflate_into(std::span<const std::byte> in, std::size_t limit, util::Bytes& out) {
    // HDF5 chunks are below 4 GiB, so one call of zlib's takes the whole stream.
    if (in.size() > std::numeric_limits<uInt>::max() || limit >= std::numeric_limits<uInt>::max())
        corrupt("inflate: a chunk of " + std::to_string(in.size()) + " bytes is larger than HDF5 writes");
    z_stream stream{};
    if (inflateInit(&stream) != Z_OK) throw Error(ENOMEM, "inflate: cannot start");
    out.resize(limit + 1);  // one byte more than allowed: a longer stream shows
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    stream.avail_in = static_cast<uInt>(in.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&stream, Z_FINISH);
    const std::string message = stream.msg ? stream.msg : "";
    const std::size_t produced = out.size() - stream.avail_out;
    inflateEnd(&stream);
    if (status != Z_STREAM_END) {
        const std::string why = status == Z_BUF_ERROR ? (stream.avail_out == 0 ? "the stream is longer than a chunk"
                                                                                : "the stream is truncated")
                                                      : message.empty() ? "bad stream" : message;
        corrupt("inflate failed: " + why);
    }
    if (produced > limit) corrupt("inflate failed: the stream is longer than a chunk");
    out.resize(produced);
}
#endif

// Element i's byte b was stored at b * elements + i. Written in element order, read from
// `Size` streams at once: writes stay sequential.
template <std::size_t Size>
void gather(const std::byte* in, std::byte* out, std::size_t first, std::size_t elements, std::size_t size = Size) {
    for (std::size_t i = first; i < elements; ++i)
        for (std::size_t b = 0; b < size; ++b) out[i * size + b] = in[b * elements + i];
}

#ifdef __SSE2__
// 16 elements at a time: the byte planes interleaved by SSE2 unpacks (a byte transpose).
// Returns how many elements it did.
template <std::size_t Size>
std::size_t gather_sse2(const std::byte* in, std::byte* out, std::size_t elements) {
    auto load = [&](std::size_t plane, std::size_t i) {
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + plane * elements + i));
    };
    auto store = [&](std::size_t at, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(out + at), v); };
    const std::size_t whole = elements / 16 * 16;
    for (std::size_t i = 0; i < whole; i += 16) {
        if constexpr (Size == 2) {
            const __m128i a = load(0, i), b = load(1, i);
            store(i * 2, _mm_unpacklo_epi8(a, b));
            store(i * 2 + 16, _mm_unpackhi_epi8(a, b));
        } else if constexpr (Size == 4) {
            const __m128i a = load(0, i), b = load(1, i), c = load(2, i), d = load(3, i);
            const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
            const __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
            store(i * 4, _mm_unpacklo_epi16(ab0, cd0));
            store(i * 4 + 16, _mm_unpackhi_epi16(ab0, cd0));
            store(i * 4 + 32, _mm_unpacklo_epi16(ab1, cd1));
            store(i * 4 + 48, _mm_unpackhi_epi16(ab1, cd1));
        } else {
            static_assert(Size == 8);
            __m128i p[8];
            for (std::size_t k = 0; k < 8; ++k) p[k] = load(k, i);
            __m128i pairs[8], quads[8];
            for (std::size_t k = 0; k < 4; ++k) {  // bytes of planes 2k, 2k+1 side by side
                pairs[2 * k] = _mm_unpacklo_epi8(p[2 * k], p[2 * k + 1]);
                pairs[2 * k + 1] = _mm_unpackhi_epi8(p[2 * k], p[2 * k + 1]);
            }
            for (std::size_t k = 0; k < 2; ++k) {  // four planes side by side
                for (std::size_t h = 0; h < 2; ++h) {
                    quads[4 * k + 2 * h] = _mm_unpacklo_epi16(pairs[4 * k + h], pairs[4 * k + 2 + h]);
                    quads[4 * k + 2 * h + 1] = _mm_unpackhi_epi16(pairs[4 * k + h], pairs[4 * k + 2 + h]);
                }
            }
            for (std::size_t q = 0; q < 4; ++q) {  // all eight: two elements per store
                store(i * 8 + 32 * q, _mm_unpacklo_epi32(quads[q], quads[4 + q]));
                store(i * 8 + 32 * q + 16, _mm_unpackhi_epi32(quads[q], quads[4 + q]));
            }
        }
    }
    return whole;
}
#endif

template <std::size_t Size>
void unshuffle_fixed(const std::byte* in, std::byte* out, std::size_t elements) {
    std::size_t done = 0;
#ifdef __SSE2__
    done = gather_sse2<Size>(in, out, elements);
#endif
    gather<Size>(in, out, done, elements);
}

void unshuffle_into(std::span<const std::byte> in, std::size_t element_size, util::Bytes& out) {
    const std::size_t elements = element_size ? in.size() / element_size : 0;
    if (element_size <= 1 || elements <= 1) {
        out.assign(in.begin(), in.end());
        return;
    }
    out.resize(in.size());
    switch (element_size) {
        case 2: unshuffle_fixed<2>(in.data(), out.data(), elements); break;
        case 4: unshuffle_fixed<4>(in.data(), out.data(), elements); break;
        case 8: unshuffle_fixed<8>(in.data(), out.data(), elements); break;
        default: gather<0>(in.data(), out.data(), 0, elements, element_size);
    }
    // What does not fill a whole element stays where it was.
    const std::size_t whole = elements * element_size;
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(whole), in.end(), out.begin() + static_cast<std::ptrdiff_t>(whole));
}

template <class Word>
void swap_all(std::byte* data, std::size_t count, std::size_t stride, Word (*swap)(Word)) {
    for (std::size_t i = 0; i < count; ++i, data += stride) {
        Word word;
        std::memcpy(&word, data, sizeof word);
        word = swap(word);
        std::memcpy(data, &word, sizeof word);
    }
}

std::uint16_t swap16(std::uint16_t v) { return __builtin_bswap16(v); }
std::uint32_t swap32(std::uint32_t v) { return __builtin_bswap32(v); }
std::uint64_t swap64(std::uint64_t v) { return __builtin_bswap64(v); }

// Whether filter i was applied to a chunk with `filter_mask` (a set bit: skipped).
bool applied(unsigned filter_mask, std::size_t i) { return !(i < 32 && (filter_mask >> i) & 1u); }

// The most bytes that can enter filter i when writing (i = 0 .. filters.size()): what an
// inflate undoing it may give, no more (a longer stream is corruption, never a reason to
// allocate more).
std::vector<std::size_t> bounds(std::span<const Filter> filters, unsigned filter_mask, std::size_t chunk_bytes) {
    std::vector<std::size_t> bound(filters.size() + 1, chunk_bytes);
    for (std::size_t i = 0; i < filters.size(); ++i) {
        std::size_t next = bound[i];
        if (applied(filter_mask, i) && filters[i].kind == Filter::Kind::Fletcher32) next += kChecksumBytes;
        if (applied(filter_mask, i) && filters[i].kind == Filter::Kind::Deflate) next += next / 1000 + 64;  // incompressible bytes grow
        bound[i + 1] = next;
    }
    return bound;
}

}  // namespace

std::size_t stages_making_bytes(std::span<const Filter> filters, unsigned filter_mask) {
    std::size_t stages = 0;
    for (std::size_t i = 0; i < filters.size(); ++i)
        stages += applied(filter_mask, i) && filters[i].kind != Filter::Kind::Fletcher32;
    return stages;
}

std::size_t decoding_bytes(std::span<const Filter> filters, std::size_t chunk_bytes) {
    return bounds(filters, 0, chunk_bytes).back();
}

std::uint32_t fletcher32(std::span<const std::byte> data) noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t words = data.size() / 2;
    std::uint32_t sum1 = 0, sum2 = 0;
    // 360 sums of 16-bit words cannot overflow 32 bits before the fold.
    while (words) {
        std::size_t step = std::min<std::size_t>(words, 360);
        words -= step;
        do {
            sum1 += (static_cast<std::uint32_t>(bytes[0]) << 8) | bytes[1];
            bytes += 2;
            sum2 += sum1;
        } while (--step);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (data.size() % 2) {
        sum1 += static_cast<std::uint32_t>(*bytes) << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}

void decode_chunk(std::span<const std::byte> stored, std::span<const Filter> filters, unsigned filter_mask,
                  std::size_t chunk_bytes, util::Bytes& out, util::Bytes& scratch) {
    const std::vector<std::size_t> bound = bounds(filters, filter_mask, chunk_bytes);
    // The stages that make new bytes make them in `out` and `scratch` in turn, the last one
    // in `out` (a stage never writes where it reads).
    std::size_t stages = stages_making_bytes(filters, filter_mask);
    std::span<const std::byte> data = stored;  // the bytes as they stand: in `stored`, `scratch` or `out`
    for (std::size_t i = filters.size(); i-- > 0;) {
        if (!applied(filter_mask, i)) continue;
        util::Bytes& into = stages % 2 ? out : scratch;
        if (filters[i].kind != Filter::Kind::Fletcher32) --stages;
        switch (filters[i].kind) {
            case Filter::Kind::Fletcher32: data = verify_fletcher32(data); break;
            case Filter::Kind::Deflate:
                inflate_into(data, bound[i], into);
                data = into;
                break;
            case Filter::Kind::Shuffle:
                unshuffle_into(data, filters[i].element_size, into);
                data = into;
                break;
        }
    }
    if (data.size() != chunk_bytes)
        corrupt("decoded to " + std::to_string(data.size()) + " bytes, a chunk holds " + std::to_string(chunk_bytes));
    if (data.data() == out.data())
        out.resize(data.size());  // a checksum stripped off its end
    else
        out.assign(data.begin(), data.end());  // nothing made new bytes: the stored ones, checksums off
}

util::Bytes decode_chunk(std::span<const std::byte> stored, std::span<const Filter> filters, unsigned filter_mask,
                         std::size_t chunk_bytes) {
    util::Bytes out, scratch;
    decode_chunk(stored, filters, filter_mask, chunk_bytes, out, scratch);
    return out;
}

void swap_bytes(std::span<std::byte> data, std::size_t element_size, std::span<const ByteSwap> swaps) noexcept {
    if (swaps.empty() || element_size == 0) return;
    const std::size_t count = data.size() / element_size;
    for (const ByteSwap& field : swaps) {
        std::byte* first = data.data() + field.offset;
        switch (field.size) {
            case 0:
            case 1: break;
            case 2: swap_all(first, count, element_size, swap16); break;
            case 4: swap_all(first, count, element_size, swap32); break;
            case 8: swap_all(first, count, element_size, swap64); break;
            default:
                for (std::size_t i = 0; i < count; ++i, first += element_size) std::reverse(first, first + field.size);
        }
    }
}

}  // namespace h5swmrfs::h5
