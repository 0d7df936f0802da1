#include "fs/filesystem.h"

namespace h5swmrfs::fs {

Filesystem::Filesystem(Config config_, std::unique_ptr<lock::Lock> lock_)
    : config(std::move(config_)), lock(std::move(lock_)), pins(config.pin_grace) {}

Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

}  // namespace h5swmrfs::fs
