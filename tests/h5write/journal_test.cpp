// Writable opens as transactions (h5/journal.h): a commit reaches the file whole, a
// change dropped or cut short by its writer's death leaves it byte for byte as it
// was, and an interrupted commit's redo file is replayed to the committed state.
// What the files hold is checked with h5py.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "h5/file.h"
#include "h5/journal.h"
#include "support.h"

namespace {

namespace fs = std::filesystem;
using h5swmrfs::Error;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5swmrfs::h5::File;
using h5swmrfs::h5::Id;

std::string dump(const fs::path& path) { return h5test::run_script(H5WRITE_SCRIPTS "/journal.py", {"dump", path.string()}); }

std::vector<std::string> directory_entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Rewrites /data in place, adds a group with a dataset (past the file's old end) and
// an attribute: metadata and data, over the old file and past its end.
void change(const File& file) {
    Id data = checked(H5Dopen2(file.id(), "data", H5P_DEFAULT), "open data");
    std::vector<std::int32_t> values(4096);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = -static_cast<std::int32_t>(i) * 7;
    check(H5Dwrite(data.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write data");
    Id group = checked(H5Gcreate2(file.id(), "new", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group");
    hsize_t count = 50000;
    Id space = checked(H5Screate_simple(1, &count, nullptr), "space");
    Id big = checked(H5Dcreate2(group.get(), "big", H5T_STD_U8LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "create big");
    std::string bytes = h5test::pseudo_random_bytes(count, 7);
    check(H5Dwrite(big.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "write big");
    check(H5Ldelete(file.id(), "run1/temps", H5P_DEFAULT), "delete temps");
}

struct Fixture {
    h5test::TempDir dir;
    fs::path path = dir.path() / "file.h5";
    std::string bytes_before, dump_before, dump_changed;

    Fixture() {
        h5test::run_script(H5WRITE_SCRIPTS "/journal.py", {"make", path.string()});
        bytes_before = h5test::read_file(path);
        dump_before = dump(path);
        // What the change gives when it is committed, on a copy.
        const fs::path copy = dir.path() / "committed.h5";
        fs::copy_file(path, copy);
        {
            File file = File::open(copy.string(), true);
            change(file);
            file.commit([] {});
        }
        dump_changed = dump(copy);
        fs::remove(copy);
        REQUIRE(dump_changed != dump_before);
    }

    void require_untouched() {
        CHECK(h5test::read_file(path) == bytes_before);
        CHECK(dump(path) == dump_before);
        CHECK(directory_entries(dir.path()) == std::vector<std::string>{"file.h5"});
    }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "journal: a committed change reaches the file, and leaves nothing beside it") {
    {
        File file = File::open(path.string(), true);
        change(file);
        file.commit([] {});
    }
    CHECK(dump(path) == dump_changed);
    CHECK(directory_entries(dir.path()) == std::vector<std::string>{"file.h5"});
    CHECK_FALSE(h5swmrfs::h5::recovery_pending(path.string()));
}

TEST_CASE_METHOD(Fixture, "journal: until the commit, the file is untouched and HDF5 reads its own writes") {
    File file = File::open(path.string(), true);
    change(file);
    check(H5Fflush(file.id(), H5F_SCOPE_GLOBAL), "flush");
    // Another reader of the file, as it is on disk, sees the old state ...
    CHECK(dump(path) == dump_before);
    // ... while this open sees its own changes.
    Id big = checked(H5Dopen2(file.id(), "new/big", H5P_DEFAULT), "open big");
    std::string bytes(50000, '\0');
    check(H5Dread(big.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "read big");
    CHECK(bytes == h5test::pseudo_random_bytes(50000, 7));
    CHECK(H5Lexists(file.id(), "run1/temps", H5P_DEFAULT) == 0);
}

TEST_CASE_METHOD(Fixture, "journal: a change dropped without commit leaves the file byte for byte") {
    {
        File file = File::open(path.string(), true);
        change(file);
    }
    require_untouched();
}

TEST_CASE_METHOD(Fixture, "journal: a lock lost before publishing drops the change") {
    {
        File file = File::open(path.string(), true);
        change(file);
        int code = 0;
        try {
            file.commit([] { throw Error(EIO, "lease lost"); });
        } catch (const Error& e) {
            code = e.code();
        }
        CHECK(code == EIO);
    }
    require_untouched();
}

TEST_CASE_METHOD(Fixture, "journal: a writer killed just before publishing leaves the file as it was") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        try {
            File file = File::open(path.string(), true);
            change(file);
            file.commit([] { ::kill(::getpid(), SIGKILL); });
        } catch (...) {
        }
        ::_exit(3);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    // What it appended past the old end stays (it was not cut off): the file is
    // longer, and holds exactly what it held.
    const std::string after = h5test::read_file(path);
    CHECK(after.compare(0, bytes_before.size(), bytes_before) == 0);
    CHECK(dump(path) == dump_before);
    CHECK(directory_entries(dir.path()) == std::vector<std::string>{"file.h5"});
}

namespace {

void put_u64(std::string& out, std::uint64_t value) {
    char bytes[8];
    std::memcpy(bytes, &value, 8);
    out.append(bytes, 8);
}

// A redo file in the format of docs/LOCKING.md that turns `before` into `after`.
std::string redo_between(const std::string& before, const std::string& after, std::vector<std::pair<std::size_t, std::size_t>>& runs) {
    for (std::size_t i = 0; i < after.size();) {
        if (i < before.size() && before[i] == after[i]) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < after.size() && !(j < before.size() && before[j] == after[j])) ++j;
        runs.emplace_back(i, j - i);
        i = j;
    }
    std::string records;
    for (auto [at, length] : runs) {
        put_u64(records, at);
        put_u64(records, length);
        records.append(after, at, length);
    }
    std::string redo = std::string("H5SWRDO1", 8);
    put_u64(redo, 0);
    redo += records;
    redo += std::string("H5SWEND1", 8);
    put_u64(redo, runs.size());
    put_u64(redo, records.size());
    put_u64(redo, after.size());
    put_u64(redo, 0);
    return redo;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

}  // namespace

TEST_CASE_METHOD(Fixture, "journal: an interrupted commit is replayed from its redo file") {
    const fs::path committed = dir.path() / "committed.h5";
    fs::copy_file(path, committed);
    {
        File file = File::open(committed.string(), true);
        change(file);
        file.commit([] {});
    }
    const std::string after = h5test::read_file(committed);
    fs::remove(committed);
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    const std::string redo = redo_between(bytes_before, after, runs);
    REQUIRE(runs.size() >= 2);

    // The writer died with half of its records copied into the file.
    std::string half = bytes_before;
    half.resize(std::max(half.size(), after.size()), '\0');
    for (std::size_t r = 0; r < runs.size() / 2; ++r) half.replace(runs[r].first, runs[r].second, after, runs[r].first, runs[r].second);
    write_file(path, half);
    write_file(h5swmrfs::h5::redo_path(path.string()), redo);
    REQUIRE(h5swmrfs::h5::recovery_pending(path.string()));

    CHECK(h5swmrfs::h5::recover(path.string()));
    CHECK(h5test::read_file(path) == after);
    CHECK(dump(path) == dump_changed);
    CHECK_FALSE(h5swmrfs::h5::recovery_pending(path.string()));
    CHECK_FALSE(h5swmrfs::h5::recover(path.string()));  // nothing left to do
}

TEST_CASE_METHOD(Fixture, "journal: a redo file that is not whole is refused and kept") {
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    std::string flipped = bytes_before;
    flipped[100] = static_cast<char>(~flipped[100]);
    const std::string redo = redo_between(bytes_before, flipped, runs);
    const std::string redo_file = h5swmrfs::h5::redo_path(path.string());
    for (std::size_t cut : {std::size_t{3}, std::size_t{20}, redo.size() - 40, redo.size() - 1}) {
        write_file(redo_file, redo.substr(0, cut));
        int code = 0;
        try {
            h5swmrfs::h5::recover(path.string());
        } catch (const Error& e) {
            code = e.code();
        }
        INFO("cut at " << cut);
        CHECK(code == EIO);
        CHECK(h5test::read_file(path) == bytes_before);
        CHECK(fs::exists(redo_file));
    }
}
