// The one way an operation takes the cross-process lock.
//
//   auto x = locked(fs, Access::shared(), [&](View& view, const lock::Hold& hold) { ... });
//   reply::entry(req, &x);
//
// locked() takes the hold the access asks for, opens a view of the file current for
// it, runs the work, finishes (an exclusive hold publishes its change; a shared hold
// checks its lease lasted the whole read, or the answer cannot be trusted), releases
// the hold and returns what the work returned. Whatever fails is thrown, with the
// hold already released: the operation's reply::guarded (reply.h) answers with its
// errno. So the hold is gone before the reply is sent (a hold handed on to the caller,
// Access::handing_to, the caller lets go first).
#pragma once

#include <memory>
#include <type_traits>

#include "fs/filesystem.h"
#include "fs/view.h"
#include "lock/lock.h"

namespace h5swmrfs::fs {

struct OpenFile;

// How an operation holds the lock.
struct Access {
    // A new shared hold: every operation that only reads.
    static Access shared() { return Access{lock::Mode::Shared}; }
    // An exclusive hold: every change. This mount's pinned readers are cut first
    // (pins.h); EROFS on a read-only mount.
    static Access exclusive() { return Access{lock::Mode::Exclusive}; }
    // An exclusive hold for a change of names in a directory (mkdir, unlink, rename, ...):
    // the kernel keeps that directory locked until the answer and updates its own names
    // for it, so the change waits only for other mounts to drop their caches (this
    // mount's drop may be waiting for that very directory).
    static Access exclusive_names() {
        Access access{lock::Mode::Exclusive};
        access.others_only = true;
        return access;
    }
    // Shared, through the pin of `file` or of another open file of inode `ino` while
    // there is one — asking the lock again could wait for a writer that waits for this
    // very pin — else a new shared hold. For reads and fstat(2) of open files.
    static Access pin_of(fuse_ino_t ino, OpenFile* file = nullptr) {
        return Access{lock::Mode::Shared, true, ino, file};
    }
    // The hold is handed to `owner` as soon as it is taken and stays there after the
    // work: a reader's open keeps it as its pin. The caller lets it go before replying.
    Access& handing_to(std::shared_ptr<lock::Hold>& owner) {
        out = &owner;
        return *this;
    }

    lock::Mode mode;
    bool pinned = false;
    fuse_ino_t ino = 0;
    OpenFile* file = nullptr;
    std::shared_ptr<lock::Hold>* out = nullptr;  // handing_to
    bool others_only = false;                    // exclusive_names
};

namespace detail {

// After a change, once its hold is gone: waits until every mount that may have cached
// what the change replaced has dropped it (kernel_cache.h), so the change's operation
// answers only when no cache anywhere shows the file as it was.
class DropsAfterChange {
public:
    DropsAfterChange(Filesystem& fs, const Access& access) : fs_(fs), others_only_(access.others_only) {}
    ~DropsAfterChange();
    DropsAfterChange(const DropsAfterChange&) = delete;
    DropsAfterChange& operator=(const DropsAfterChange&) = delete;
    std::uint64_t generation = 0;  // of the published change; 0: nothing to wait for

private:
    Filesystem& fs_;
    bool others_only_;
};

// One pass through the lock: the hold, then the view; destroyed in the other order.
class Locked {
public:
    Locked(Filesystem& fs, const Access& access);
    View& view() const { return *view_; }
    const lock::Hold& hold() const { return *hold_; }
    // Publishes an exclusive hold's change, or checks a shared hold is still good.
    // Once a change is published it succeeded: the hold is not checked again after.
    void finish(DropsAfterChange& drops);

private:
    std::shared_ptr<lock::Hold> hold_;
    ViewAccess view_;
};

}  // namespace detail

// Runs `work(view, hold)` under the hold `access` asks for; returns what it returns,
// or throws what fails once the hold is released.
template <class Work>
auto locked(Filesystem& fs, const Access& access, Work&& work) {
    detail::DropsAfterChange drops(fs, access);  // destroyed after the hold
    detail::Locked entry(fs, access);
    if constexpr (std::is_void_v<std::invoke_result_t<Work&, View&, const lock::Hold&>>) {
        work(entry.view(), entry.hold());
        entry.finish(drops);
    } else {
        auto result = work(entry.view(), entry.hold());
        entry.finish(drops);
        return result;
    }
}

}  // namespace h5swmrfs::fs
