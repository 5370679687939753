#pragma once
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"

namespace hci {

// For the VM snapshots named by a batch of lines: one get-vm-snapshots call
// (id_in), one get-iscsi-lun-snapshots call (name_in) for all their DISKs,
// and one output line per DISK. A snapshot with any disk that cannot be
// resolved yields no lines at all (a backup missing a disk is not a backup).
void resolve_snapshot_luns(CloudTower& tower, const std::vector<InputLine>& batch, LineReader& reader,
                           LineWriter& out, RunStatus& status);

// The disk fields of an output line, from a frozen disk of a VmSnapshot.
json::object disk_summary(const json::object& frozen_disk);

}  // namespace hci
