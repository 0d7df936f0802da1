// HDF5's filters in the writing direction (shuffle, deflate, fletcher32), for tests of the
// chunk decoder: what HDF5 stores for a chunk, made without HDF5.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "h5/chunk_decoder.h"

namespace h5test {

inline std::vector<std::byte> shuffle(std::span<const std::byte> in, std::size_t element_size) {
    const std::size_t elements = element_size ? in.size() / element_size : 0;
    std::vector<std::byte> out(in.begin(), in.end());
    if (element_size <= 1 || elements <= 1) return out;
    for (std::size_t i = 0; i < elements; ++i)
        for (std::size_t b = 0; b < element_size; ++b) out[b * elements + i] = in[i * element_size + b];
    return out;
}

inline std::vector<std::byte> deflate(std::span<const std::byte> in, int level = 6) {
    uLongf size = compressBound(static_cast<uLong>(in.size()));
    std::vector<std::byte> out(size);
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(in.data()),
                  static_cast<uLong>(in.size()), level) != Z_OK)
        throw std::runtime_error("compress2 failed");
    out.resize(size);
    return out;
}

inline std::vector<std::byte> append_fletcher32(std::span<const std::byte> in) {
    std::vector<std::byte> out(in.begin(), in.end());
    const std::uint32_t sum = h5swmrfs::h5::fletcher32(in);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((sum >> (8 * i)) & 0xff));
    return out;
}

// `chunk` through `filters` in order, as HDF5 writes it.
inline std::vector<std::byte> encode(std::span<const std::byte> chunk, std::span<const h5swmrfs::h5::Filter> filters) {
    using Kind = h5swmrfs::h5::Filter::Kind;
    std::vector<std::byte> data(chunk.begin(), chunk.end());
    for (const auto& filter : filters) {
        switch (filter.kind) {
            case Kind::Shuffle: data = shuffle(data, filter.element_size); break;
            case Kind::Deflate: data = deflate(data); break;
            case Kind::Fletcher32: data = append_fletcher32(data); break;
        }
    }
    return data;
}

}  // namespace h5test
