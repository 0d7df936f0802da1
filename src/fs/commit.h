// Committing staged bytes to the file, under an exclusive hold (SPEC §5).
#pragma once

#include "fs/open_file.h"

namespace h5swmrfs::fs {

// Applies what `file` staged to its dataset: checks sizes, types and free space
// first and changes nothing when they do not fit (EINVAL, EFBIG, ENOSPC); then
// resizes and writes, checking between steps that the hold is still ours.
void commit(View& view, const lock::Hold& hold, OpenFile& file);

// The checks of commit() alone: throws what commit() would refuse with, changes nothing
// in the file. Both follow the dataset by its address (fs/stat.h follow_node), so
// `file.node` may learn a new path.
void check_commit(View& view, OpenFile& file);

// What `touch new` and `cp src new` create: an empty 1-D `|u1` dataset, chunked,
// unlimited along its axis.
void create_empty_dataset(hid_t group, const std::string& name);

// Applies a size change to a dataset with no open file (truncate(2)): whole rows of
// a resizable dataset, or the size it already has.
void resize_dataset(View& view, const Node& node, std::uint64_t size);

}  // namespace h5swmrfs::fs
