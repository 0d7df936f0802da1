// The words of one `-o` value: what mount(8), mount.fuse3 and an fstab line hand over.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace h5swmrfs::cli {

struct MountOption {
    enum class Kind {
        Ours,  // an h5swmrfs option (a long option's -o spelling, ro, rw, auto_unmount)
        Fuse,  // left to libfuse, which refuses what it does not know
    };
    Kind kind = Kind::Fuse;
    std::string name;                  // Ours: as written ("lock_key"); Fuse: the word, escaped again for FUSE's -o
    std::optional<std::string> value;  // Ours: after '=', unescaped; none without '='
};

// Splits and unescapes `text` as libfuse does ("a,b\,c": two words). The options that
// mount(8) adds for itself (defaults, _netdev, nofail, x-*, comment=...) are dropped.
// Throws Error(EINVAL) when libfuse cannot parse the text.
std::vector<MountOption> parse_mount_options(const std::string& text);

}  // namespace h5swmrfs::cli
