// A reader's open file sees one version of its dataset from open to close.
//
// A read-only open of a dataset keeps ("pins") the shared hold it was opened
// under, and its reads use it: no writer anywhere can change the file while a
// `cat` streams it, so it gets the old bytes or the new, never a mix. A pin is
// cut when a writer needs the lock:
//  - a writer of this mount cuts every pin at once;
//  - a writer elsewhere cuts, `grace` after it began to wait, the pins that are still
//    there from before and those of the hold it waits for (so a reader left open forever
//    does not block writers forever);
//  - a lease in doubt cuts every pin, on this class's thread (cut_all_soon).
//  - a writer anywhere cuts at once the pins of files their opener has mapped
//    (`follows`): a mapping shows the file as it is, not one version (kernel_cache.h).
// A read after a cut takes a new hold and goes on only if its dataset cannot have
// changed (changes.h); otherwise it fails with EIO rather than mix two versions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <deque>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace h5swmrfs::lock {
class Hold;
}

namespace h5swmrfs::fs {

struct OpenFile;

class Pins {
public:
    explicit Pins(std::chrono::milliseconds grace) : grace_(grace) {}
    ~Pins() { stop(); }

    // Whether the process `opener` maps inode `ino`: its open file's pin need not wait for
    // the grace. Asked with no mutex held (it may read /proc).
    using Follows = std::function<bool(pid_t opener, std::uint64_t ino)>;
    // Starts the thread that cuts pins for writers elsewhere.
    void start(Follows follows = {});
    void stop();

    // The number of cut_all() calls so far: an operation reads it before it takes the
    // hold it means to pin, and pins only if no cut_all() came in between (one that came
    // meant to cut this hold too, and a writer of this mount may be waiting for it).
    std::uint64_t cuts() const { return cuts_.load(); }
    // Pins `file` (its `pin` is set) unless a cut came since `cuts`; then takes the pin
    // away again and returns it, for the caller to let go once no mutex is held.
    [[nodiscard]] std::shared_ptr<lock::Hold> add(OpenFile* file, std::uint64_t cuts);
    void remove(OpenFile* file);
    // A writer waits somewhere: pins older than now are cut `grace` from now.
    void writer_waiting();
    // Cuts every pin now.
    void cut_all();
    // Has this class's thread cut every pin, at once; returns without waiting for a mutex
    // (the lock's renewal thread calls it when the lease is in doubt).
    void cut_all_soon();
    // The pin of an open file of inode `ino`, if any: an operation on that inode (fstat(2)
    // gives no file handle) may use it rather than queue behind a writer that waits for it.
    std::shared_ptr<lock::Hold> borrow(std::uint64_t ino);
    // Whether `older`, an open of the same inode in an older generation, may see other bytes
    // than the newer one; asked with `older`'s mutex held.
    using Differs = std::function<bool(const OpenFile& older)>;
    // Whether a reader of inode `ino` opened in a generation older than `generation` is
    // still open, one whose version `differs` and that does not follow the file (`follows`),
    // other than `except` (whose mutex the caller may hold).
    bool older_open(std::uint64_t ino, std::uint64_t generation, const Differs& differs,
                    const OpenFile* except = nullptr);
    // Takes the pin away from `file`; the caller lets it go once no mutex is held.
    static std::shared_ptr<lock::Hold> take(OpenFile* file);

private:
    void run();
    // The pins of files whose opener maps them (follows_), cut; `guard` holds mutex_, and
    // is let go while /proc is read.
    void cut_followers(std::unique_lock<std::mutex>& guard);
    // Lets the pins in `dropped` go with mutex_ let go.
    void let_go(std::unique_lock<std::mutex>& guard, std::vector<std::shared_ptr<lock::Hold>>& dropped);

    using Clock = std::chrono::steady_clock;
    // How late a cut_all_soon() whose wake-up was lost is seen.
    static constexpr std::chrono::milliseconds kAskedPoll{200};
    const std::chrono::milliseconds grace_;
    std::mutex mutex_;  // lock order: before an open file's mutex
    std::condition_variable wake_;
    std::set<OpenFile*> files_;
    std::atomic<std::uint64_t> cuts_{0};  // changed under mutex_
    std::deque<Clock::time_point> notices_;  // when writers began to wait, oldest first
    std::size_t screened_ = 0;               // notices whose following pins were cut at once
    Follows follows_;
    std::atomic<bool> cut_all_asked_{false};
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace h5swmrfs::fs
