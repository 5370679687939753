#pragma once
#include <memory>
#include <string>

#include "libcommon/volume.h"

namespace hci {

// iscsi://[user@]host[:port]/<target iqn>/<lun> (libiscsi, user space).
std::unique_ptr<Volume> open_iscsi_volume(const std::string& url, OpenMode mode, const VolumeOptions& options);

}  // namespace hci
