#pragma once
// The file and block-device transport: regular files (allocation from
// SEEK_DATA/SEEK_HOLE, holes punched for zeros) and block devices (size from
// the device, BLKZEROOUT for zeros). A new file is created sparse under a
// temporary name next to its final one and renamed into place on commit().
#include <memory>
#include <string>

#include "libcommon/block/volume.h"

namespace hci {

std::unique_ptr<Volume> open_file_volume(const std::string& path, OpenMode mode, const VolumeOptions& options);

}  // namespace hci
