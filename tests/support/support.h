// What the tests on real HDF5 files share: temporary files, running the h5py helper
// scripts, hex text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "h5/id.h"

namespace h5test {

using h5swmrfs::h5::Id;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Runs the Python SCRIPT (a path) with /usr/bin/python3 (h5py, numpy) and returns its
// stdout; throws std::runtime_error with its stderr when it fails.
std::string run_script(const std::filesystem::path& script, const std::vector<std::string>& args);

std::string read_file(const std::filesystem::path& path);

// Lines of tab-separated fields.
std::vector<std::vector<std::string>> table(const std::string& text);

std::string hex(std::string_view bytes);
std::string unhex(std::string_view text);

// The same bytes for the same seed on every run.
std::string pseudo_random_bytes(std::size_t count, std::uint32_t seed);

Id create_file(const std::filesystem::path& path);
Id open_file(const std::filesystem::path& path, bool writable = false);

}  // namespace h5test
