// Whole reads and writes at an offset, kernel-side copies, syncs and unnamed temporary
// files: the file work shared by the journal, the redo file and staged writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace h5swmrfs::util {

// The directory that holds `file`: "." for a bare name, "/" for a file at the root.
std::string directory_of(const std::string& file);

// Writes all `size` bytes at `offset`; 0, or the errno of the failure.
int write_all(int fd, const void* data, std::size_t size, std::uint64_t offset);
// Reads `size` bytes at `offset`, zeros for what lies past the end; 0, or the errno.
int read_all(int fd, void* data, std::size_t size, std::uint64_t offset);
// Copies `length` bytes from `from` at `source` to `to` at `target`, in the kernel where
// it can; 0, or the errno.
int copy_range(int from, std::uint64_t source, int to, std::uint64_t target, std::uint64_t length);

// fdatasync, or Error(errno) naming `what`.
void sync_data(int fd, const std::string& what);
// Syncs the directory that holds `file` (a new or removed name in it is then durable).
void sync_directory_of(const std::string& file);

// A temporary file in `directory`: unnamed (O_TMPFILE) where the filesystem allows, else
// named `prefix` + random letters there, with its name in `name`. -1 with errno on failure.
int open_temporary(const std::string& directory, const std::string& prefix, mode_t mode, std::string& name);

}  // namespace h5swmrfs::util
