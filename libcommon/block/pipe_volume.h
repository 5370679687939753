#pragma once
// The "-" transport: a raw image read from stdin or written to stdout, in
// order, like nbdcopy's pipe-ops. Reading finds zero blocks by scanning (a
// pipe has no allocation map); writing turns zero runs into holes where stdout
// is a regular file. A pipe's length is not known in advance, so reading one
// needs VolumeOptions::size.
#include <memory>

#include "libcommon/block/volume.h"

namespace hci {

std::unique_ptr<Volume> open_pipe_volume(OpenMode mode, const VolumeOptions& options);

}  // namespace hci
