#include "lock/lock.h"

namespace h5swmrfs::lock {

std::unique_ptr<Hold> acquire_repaired(Lock& lock, Mode mode, const Repair& repair) {
    for (;;) {
        std::unique_ptr<Hold> hold = lock.acquire(mode);
        if (!repair.pending || !repair.pending()) return hold;
        if (mode == Mode::Exclusive) {
            hold->check_valid();
            repair.repair();
            return hold;
        }
        hold.reset();
        std::unique_ptr<Hold> exclusive = lock.acquire(Mode::Exclusive);
        if (repair.pending()) {
            exclusive->check_valid();
            repair.repair();
        }
    }
}

}  // namespace h5swmrfs::lock
