#include "fs/filesystem.h"

#include "util/log.h"

namespace h5swmrfs::fs {

Filesystem::Filesystem(Config config_) : config(std::move(config_)), pins(config.pin_grace) {}

void Filesystem::start(std::unique_ptr<lock::Lock> lock_) {
    lock = std::move(lock_);
    lock->on_writer_waiting([this] { pins.writer_waiting(); });
    pins.start();
}

Filesystem::~Filesystem() {
    pins.stop();
    {
        std::unique_lock guard(view_mutex);
        if (std::size_t left = handles.clear())
            log::info(left, " open file(s) or directories were not closed before the unmount");
        view.reset();
    }
    lock.reset();
    log::info("unmounted ", config.mountpoint);
}

Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

}  // namespace h5swmrfs::fs
