#include "h5/chunk_decoder.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "util/error.h"

namespace h5swmrfs::h5 {
namespace {

constexpr std::size_t kChecksumBytes = 4;

[[noreturn]] void corrupt(const std::string& what) { throw Error(EIO, what); }

// The checksum is stored little-endian after the data. HDF5 before 1.6.3 stored the two
// 16-bit halves byte-swapped on little-endian hosts; HDF5 accepts both, so do we.
void verify_fletcher32(std::vector<std::byte>& data) {
    if (data.size() < kChecksumBytes) corrupt("fletcher32: " + std::to_string(data.size()) + " bytes, too few for a checksum");
    const std::size_t length = data.size() - kChecksumBytes;
    std::uint32_t stored = 0;
    for (std::size_t i = 0; i < kChecksumBytes; ++i)
        stored |= static_cast<std::uint32_t>(std::to_integer<unsigned>(data[length + i])) << (8 * i);
    const std::uint32_t sum = fletcher32(std::span(data).first(length));
    const std::uint32_t reversed = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
    if (stored != sum && stored != reversed) corrupt("fletcher32 checksum mismatch");
    data.resize(length);
}

// `limit`: more than this many bytes out is corruption (no stage of the pipeline makes a
// chunk larger than its decoded size plus the checksums after it).
std::vector<std::byte> inflate_all(const std::vector<std::byte>& in, std::size_t limit) {
    // HDF5 chunks are below 4 GiB, so one call of zlib's takes the whole stream.
    if (in.size() > std::numeric_limits<uInt>::max() || limit >= std::numeric_limits<uInt>::max())
        corrupt("inflate: a chunk of " + std::to_string(in.size()) + " bytes is larger than HDF5 writes");
    z_stream stream{};
    if (inflateInit(&stream) != Z_OK) throw Error(ENOMEM, "inflate: cannot start");
    std::vector<std::byte> out(limit + 1);  // one byte more than allowed: a longer stream shows
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    stream.avail_in = static_cast<uInt>(in.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&stream, Z_FINISH);
    const std::string message = stream.msg ? stream.msg : "";
    const std::size_t produced = out.size() - stream.avail_out;
    inflateEnd(&stream);
    // What follows the end of the stream is ignored, as HDF5 does.
    if (status != Z_STREAM_END) {
        const std::string why = status == Z_BUF_ERROR ? (stream.avail_out == 0 ? "the stream is longer than a chunk"
                                                                                : "the stream is truncated")
                                                      : message.empty() ? "bad stream" : message;
        corrupt("inflate failed: " + why);
    }
    if (produced > limit) corrupt("inflate failed: the stream is longer than a chunk");
    out.resize(produced);
    return out;
}

std::vector<std::byte> unshuffle(const std::vector<std::byte>& in, std::size_t element_size) {
    const std::size_t elements = element_size ? in.size() / element_size : 0;
    if (element_size <= 1 || elements <= 1) return in;
    std::vector<std::byte> out(in.size());
    for (std::size_t byte = 0; byte < element_size; ++byte) {
        const std::byte* plane = in.data() + byte * elements;
        std::byte* to = out.data() + byte;
        for (std::size_t i = 0; i < elements; ++i) to[i * element_size] = plane[i];
    }
    // What does not fill a whole element stays where it was.
    const std::size_t whole = elements * element_size;
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(whole), in.end(), out.begin() + static_cast<std::ptrdiff_t>(whole));
    return out;
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

}  // namespace

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

std::vector<std::byte> decode_chunk(std::span<const std::byte> stored, std::span<const Filter> filters,
                                    unsigned filter_mask, std::size_t chunk_bytes) {
    std::vector<std::byte> data(stored.begin(), stored.end());
    // At any stage the bytes are at most the chunk plus the checksums still to strip.
    std::size_t checksums = 0;
    for (std::size_t i = 0; i < filters.size(); ++i)
        if (filters[i].kind == Filter::Kind::Fletcher32 && !(i < 32 && (filter_mask >> i) & 1u)) checksums += kChecksumBytes;
    for (std::size_t i = filters.size(); i-- > 0;) {
        if (i < 32 && (filter_mask >> i) & 1u) continue;  // not applied to this chunk
        switch (filters[i].kind) {
            case Filter::Kind::Fletcher32:
                verify_fletcher32(data);
                checksums -= kChecksumBytes;
                break;
            case Filter::Kind::Deflate: data = inflate_all(data, chunk_bytes + checksums); break;
            case Filter::Kind::Shuffle: data = unshuffle(data, filters[i].element_size); break;
        }
    }
    if (data.size() != chunk_bytes)
        corrupt("decoded to " + std::to_string(data.size()) + " bytes, a chunk holds " + std::to_string(chunk_bytes));
    return data;
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
