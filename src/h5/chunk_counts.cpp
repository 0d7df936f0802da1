#include "h5/chunk_counts.h"

#include "metrics/registry.h"

namespace h5swmrfs::h5::chunk_counts {
namespace {

constexpr const char* kHelp =
    "Look-ups of decoded chunks by the direct read path (reads and read-ahead), by how they were answered: "
    "kept (from the chunk cache), shared (another thread's decoding, waited for), decoded, failed (damaged).";

metrics::Counter& lookups(const char* result) {
    return metrics::registry().counter("h5swmrfs_chunks_total", kHelp, {{"result", result}});
}

struct Families {
    metrics::Counter& kept = lookups("kept");
    metrics::Counter& shared = lookups("shared");
    metrics::Counter& decoded = lookups("decoded");
    metrics::Counter& failed = lookups("failed");
    metrics::Counter& decoded_bytes = metrics::registry().counter(
        "h5swmrfs_chunk_decoded_bytes_total", "Bytes of the chunks the direct read path decoded (or made of the fill value).");
};

// Registered when the program starts, so every series is there, at 0, from the first scrape.
Families families;

}  // namespace

void kept() noexcept { families.kept.add(); }
void shared() noexcept { families.shared.add(); }
void decoded(std::size_t bytes) noexcept {
    families.decoded.add();
    families.decoded_bytes.add(bytes);
}
void failed() noexcept { families.failed.add(); }

}  // namespace h5swmrfs::h5::chunk_counts
