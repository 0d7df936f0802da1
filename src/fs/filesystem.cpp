#include "fs/filesystem.h"

#include "util/log.h"
#include "util/proc.h"
#include "fs/open_file.h"

namespace h5swmrfs::fs {

Filesystem::Filesystem(Config config_) : config(std::move(config_)), pins(config.pin_grace), cache(config.cache) {}

void Filesystem::start(std::unique_ptr<lock::Lock> lock_, fuse_session* session, const util::MountEntry* mounted) {
    lock = std::move(lock_);
    if (config.direct) {
        pool = std::make_unique<util::WorkerPool>(config.threads ? config.threads : util::default_threads());
        // Enough for the chunks of a few streams between decoding and drop-behind.
        buffers = util::BufferPool::create(config.chunk_cache_bytes / 8);
    }
    if (mounted) {
        device = mounted->device;
        mount_id = mounted->id;
    }
    lock->on_writer_waiting([this] { pins.writer_waiting(); });
    if (cache.enabled()) {
        lock->on_shared_released([this](const lock::Drop& drop) { cache.drop(drop.id); });
        // The kept hold may be gone already: what was cached under it must go now, not
        // once the pins' grace has passed (the pins keep the hold in use until cut).
        lock->on_lease_in_doubt([this] { pins.cut_all_soon(); });
    }
    cache.start(session_notices(session), [this](std::uint64_t id) { lock->dropped(id); },
                "cache-drop@" + config.mountpoint);
    pins.start([this](pid_t opener, std::uint64_t ino) {
        return cache.enabled() && util::has_mapped(opener, device, ino);
    });
}

Filesystem::~Filesystem() {
    pins.stop();
    cache.stop();
    pool.reset();  // read-ahead not started yet drops the holds it kept
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
