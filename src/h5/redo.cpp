#include "h5/redo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/log.h"

namespace h5swmrfs::h5 {
namespace redo {
namespace {

using util::copy_range;
using util::read_all;
using util::sync_data;

// The redo file (docs/LOCKING.md): a header, records, a trailer; integers are
// 64-bit little-endian.
constexpr char kHeaderMagic[8] = {'H', '5', 'S', 'W', 'R', 'D', 'O', '1'};
constexpr char kTrailerMagic[8] = {'H', '5', 'S', 'W', 'E', 'N', 'D', '1'};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the redo format is little-endian");

void put_u64(unsigned char* at, std::uint64_t value) { std::memcpy(at, &value, 8); }
std::uint64_t get_u64(const unsigned char* at) {
    std::uint64_t value;
    std::memcpy(&value, at, 8);
    return value;
}

}  // namespace

void apply(int from, int to, const std::vector<Span>& spans, std::uint64_t new_size, const std::string& file) {
    for (const Span& span : spans)
        if (int err = copy_range(from, span.source, to, span.address, span.length))
            throw Error(err, file + ": cannot write a journaled change");
    if (new_size != kKeepSize && ::ftruncate(to, static_cast<off_t>(new_size)) != 0)
        throw Error(errno, file + ": cannot set its size");
    sync_data(to, file);
}

namespace {

// The redo file's records and the size it gives the file; EIO if it is not whole.
std::vector<Span> parse_redo(int fd, const std::string& path, std::uint64_t& new_size) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw Error(errno, path + ": cannot stat");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    auto broken = [&](const std::string& why) { return Error(EIO, path + ": not a whole redo file (" + why + ")"); };
    if (size < kHeaderSize + kTrailerSize) throw broken("too short");
    std::array<unsigned char, kTrailerSize> trailer{};
    std::array<unsigned char, kHeaderSize> header{};
    if (read_all(fd, header.data(), header.size(), 0) || read_all(fd, trailer.data(), trailer.size(), size - kTrailerSize))
        throw Error(errno, path + ": cannot read");
    if (std::memcmp(header.data(), kHeaderMagic, 8) != 0) throw broken("bad header");
    if (std::memcmp(trailer.data(), kTrailerMagic, 8) != 0) throw broken("bad trailer");
    const std::uint64_t count = get_u64(&trailer[8]), bytes = get_u64(&trailer[16]);
    new_size = get_u64(&trailer[24]);
    if (bytes != size - kHeaderSize - kTrailerSize) throw broken("length mismatch");
    std::vector<Span> spans;
    std::uint64_t at = kHeaderSize;
    const std::uint64_t end = size - kTrailerSize;
    while (at < end) {
        unsigned char head[kRecordHead];
        if (end - at < kRecordHead || read_all(fd, head, kRecordHead, at)) throw broken("cut record");
        const std::uint64_t address = get_u64(head), length = get_u64(head + 8);
        at += kRecordHead;
        if (length > end - at || address > (std::uint64_t{1} << 62)) throw broken("bad record");
        spans.push_back(Span{address, length, at});
        at += length;
    }
    if (spans.size() != count) throw broken("record count");
    return spans;
}

}  // namespace

std::array<unsigned char, kHeaderSize> header() {
    std::array<unsigned char, kHeaderSize> out{};
    std::memcpy(out.data(), kHeaderMagic, 8);
    return out;
}

std::array<unsigned char, kRecordHead> record_head(std::uint64_t address, std::uint64_t length) {
    std::array<unsigned char, kRecordHead> out{};
    put_u64(out.data(), address);
    put_u64(out.data() + 8, length);
    return out;
}

std::array<unsigned char, kTrailerSize> trailer(std::uint64_t records, std::uint64_t record_bytes,
                                                std::uint64_t new_size) {
    std::array<unsigned char, kTrailerSize> out{};
    std::memcpy(out.data(), kTrailerMagic, 8);
    put_u64(out.data() + 8, records);
    put_u64(out.data() + 16, record_bytes);
    put_u64(out.data() + 24, new_size);
    return out;
}

}  // namespace redo

std::string redo_path(const std::string& file) { return file + ".h5swmrfs-redo"; }

bool recovery_pending(const std::string& file) {
    struct stat st {};
    return ::stat(redo_path(file).c_str(), &st) == 0;
}

bool recover(const std::string& file) {
    const std::string redo = redo_path(file);
    const util::Fd from(::open(redo.c_str(), O_RDONLY | O_CLOEXEC));
    if (!from) {
        if (errno == ENOENT) return false;
        throw Error(errno, redo + ": cannot open");
    }
    std::uint64_t new_size = redo::kKeepSize;
    std::vector<redo::Span> spans = redo::parse_redo(from.get(), redo, new_size);
    {
        const util::Fd to(::open(file.c_str(), O_RDWR | O_CLOEXEC));
        if (!to) throw Error(errno, file + ": cannot open to finish an interrupted commit");
        redo::apply(from.get(), to.get(), spans, new_size, file);
    }
    if (::unlink(redo.c_str()) != 0 && errno != ENOENT) throw Error(errno, redo + ": cannot remove");
    util::sync_directory_of(file);
    log::warning(file, ": finished a commit whose writer stopped halfway (", redo, " replayed)");
    return true;
}

}  // namespace h5swmrfs::h5
