#pragma once
// The transport factory: which Volume a path or URL names. The Volume
// interface (volume.h) knows no transport; this is the one place that knows
// them all.
#include <memory>
#include <string>

#include "libcommon/block/volume.h"

namespace hci {

// Opens a path (file or block device), a file:// URL, an iscsi:// URL, a
// repo:GROUP/TIME/FILE image of a repository, or "-": a raw image on stdin
// (read) or stdout (write), see pipe_volume.h. With options.size a source is
// cut to its first `size` bytes. Usage error for an empty name or a scheme no
// transport handles.
std::unique_ptr<Volume> open_volume(const std::string& url, OpenMode mode, const VolumeOptions& options);

}  // namespace hci
