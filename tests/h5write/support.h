// What the h5write tests share: temporary files, the h5py helper scripts, bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "h5/id.h"

namespace h5write {

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

// Runs tests/h5write/SCRIPT with /usr/bin/python3 (numpy, h5py) and returns its stdout;
// throws std::runtime_error with its stderr when it fails.
std::string run_script(const std::string& script, const std::vector<std::string>& args);

// Lines of tab-separated fields.
std::vector<std::vector<std::string>> table(const std::string& text);

std::string unhex(const std::string& text);

// The same bytes for the same seed on every run.
std::string pseudo_random_bytes(std::size_t count, std::uint32_t seed);

std::string read_file(const std::filesystem::path& path);

Id create_file(const std::filesystem::path& path);
Id open_file(const std::filesystem::path& path, bool writable);

}  // namespace h5write
