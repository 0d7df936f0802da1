// The one file outside src/fs that includes a FUSE header: fuse_opt is plain option
// parsing, no filesystem, and using libfuse's own parser means a -o value is split and
// unescaped here exactly as mount.fuse3 and libfuse itself read it.
#include "cli/mount_options.h"

#include <fuse_opt.h>

#include <cstring>

#include "util/error.h"
#include "util/text.h"

namespace h5swmrfs::cli {
namespace {

enum Key {
    key_ours = 1,
    key_mount_only,  // meant for mount(8) itself, meaningless to a FUSE daemon
};

// Every h5swmrfs option with and without a value, so that "create=1" and a bare
// "redis" reach the checks of options.cpp (which say what is wrong) instead of libfuse.
#define H5SWMRFS_OPTION(name) FUSE_OPT_KEY(name, key_ours), FUSE_OPT_KEY(name "=", key_ours)

const fuse_opt table[] = {
    H5SWMRFS_OPTION("redis"),
    H5SWMRFS_OPTION("redis_password_file"),
    H5SWMRFS_OPTION("lock"),
    H5SWMRFS_OPTION("lock_key"),
    H5SWMRFS_OPTION("lease"),
    H5SWMRFS_OPTION("lock_timeout"),
    H5SWMRFS_OPTION("create"),
    H5SWMRFS_OPTION("metrics"),
    H5SWMRFS_OPTION("debug"),
    H5SWMRFS_OPTION("cache"),
    H5SWMRFS_OPTION("no_cache"),
    H5SWMRFS_OPTION("ro"),
    H5SWMRFS_OPTION("rw"),
    H5SWMRFS_OPTION("auto_unmount"),
    FUSE_OPT_KEY("defaults", key_mount_only),
    FUSE_OPT_KEY("auto", key_mount_only),
    FUSE_OPT_KEY("noauto", key_mount_only),
    FUSE_OPT_KEY("user", key_mount_only),
    FUSE_OPT_KEY("nouser", key_mount_only),
    FUSE_OPT_KEY("users", key_mount_only),
    FUSE_OPT_KEY("owner", key_mount_only),
    FUSE_OPT_KEY("group", key_mount_only),
    FUSE_OPT_KEY("_netdev", key_mount_only),
    FUSE_OPT_KEY("nofail", key_mount_only),
    FUSE_OPT_KEY("comment=", key_mount_only),
    FUSE_OPT_END,
};

#undef H5SWMRFS_OPTION

// Called by fuse_opt_parse for each word, in order. C frames are in between: no
// exception may leave it.
int take_word(void* data, const char* word, int key, fuse_args*) noexcept {
    auto& words = *static_cast<std::vector<MountOption>*>(data);
    try {
        if (*word == '\0' || key == key_mount_only) return 0;
        if (key == FUSE_OPT_KEY_OPT) {
            // x-systemd.automount, x-gvfs-show, X-mount.mkdir: userspace options of mount(8).
            if (std::strncmp(word, "x-", 2) == 0 || std::strncmp(word, "X-", 2) == 0) return 0;
            words.push_back({MountOption::Kind::Fuse, util::escape_fuse_option(word), std::nullopt});
            return 0;
        }
        if (key != key_ours) return -1;
        MountOption option{MountOption::Kind::Ours, word, std::nullopt};
        if (const char* equals = std::strchr(word, '=')) {
            option.name.assign(word, equals);
            option.value = std::string(equals + 1);
        }
        words.push_back(std::move(option));
        return 0;
    } catch (...) {
        return -1;
    }
}

}  // namespace

std::vector<MountOption> parse_mount_options(const std::string& text) {
    std::vector<MountOption> words;
    std::string program = "h5swmrfs", dash_o = "-o", value = text;
    char* argv[] = {program.data(), dash_o.data(), value.data(), nullptr};
    fuse_args args = FUSE_ARGS_INIT(3, argv);
    const int status = fuse_opt_parse(&args, &words, table, take_word);
    fuse_opt_free_args(&args);
    if (status != 0) throw Error(EINVAL, "-o " + text + ": cannot parse");
    return words;
}

}  // namespace h5swmrfs::cli
