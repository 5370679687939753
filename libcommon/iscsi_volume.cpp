#include "libcommon/iscsi_volume.h"

#include "libcommon/error.h"

namespace hci {

// Placeholder until the libiscsi transport lands (issue 4); it fails loudly.
std::unique_ptr<Volume> open_iscsi_volume(const std::string&, OpenMode, const VolumeOptions&) {
    fail(kExitUsage, "iscsi:// URLs are not supported by this build yet");
}

}  // namespace hci
