#include "h5/half.h"

#include <cmath>
#include <limits>

namespace h5swmrfs::h5 {

float half_to_float(std::uint16_t bits) {
    int exponent = (bits >> 10) & 0x1F;
    int fraction = bits & 0x3FF;
    float magnitude = exponent == 0    ? std::ldexp(static_cast<float>(fraction), -24)
                      : exponent == 31 ? (fraction ? std::numeric_limits<float>::quiet_NaN()
                                                   : std::numeric_limits<float>::infinity())
                                       : std::ldexp(static_cast<float>(fraction | 0x400), exponent - 25);
    return (bits & 0x8000) ? -magnitude : magnitude;
}

// Rounds to the nearest binary16, ties to even (what numpy does to a parsed double).
std::uint16_t half_from_double(double value) {
    std::uint16_t sign = std::signbit(value) ? 0x8000 : 0;
    double magnitude = std::fabs(value);
    if (std::isnan(value)) return sign | 0x7E00;
    if (magnitude >= 65520.0) return sign | 0x7C00;  // halfway past the largest half, 65504
    if (magnitude < 0x1p-14) {
        // Subnormal: whole units of 2^-24; 1024 units carry into the smallest normal correctly.
        return sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * 0x1p24));
    }
    int exponent = 0;
    double mantissa = std::nearbyint(std::ldexp(std::frexp(magnitude, &exponent), 11));  // [1024, 2048]
    if (mantissa == 2048) {
        mantissa = 1024;
        ++exponent;
    }
    if (exponent + 14 > 30) return sign | 0x7C00;
    return sign | static_cast<std::uint16_t>(((exponent + 14) << 10) | (static_cast<int>(mantissa) - 1024));
}

}  // namespace h5swmrfs::h5
