#pragma once
// hci-vm-get --full: a Vm line made self-contained, with everything a rebuild
// needs resolved in place (see hci-vm-get(1), "THE FULL CONFIGURATION").
#include <boost/json.hpp>

#include "libcommon/api/cloudtower.h"
#include "libcommon/api/pipeline.h"

namespace hci {

// The version of the --full line format, in the line's "hci_config" field.
inline constexpr int kFullConfigVersion = 1;

// Replaces each Vm's vm_disks and vm_nics (bare ids in get-vms) by the disks
// (with their volumes) and NICs (with their VLANs), using one get-vm-disks,
// get-vm-volumes, get-vm-nics and get-vlans call for the whole batch. A VM
// whose disks or NICs cannot all be resolved is reported (kExitNotFound) and
// left out of the result.
json::array resolve_full(CloudTower& tower, const json::array& vms, RunStatus& status);

}  // namespace hci
