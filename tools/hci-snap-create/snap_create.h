#pragma once
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"
#include "snapshot_naming.h"

namespace hci {

struct SnapCreateOptions {
    std::string name_template = "{vm}-backup-{timestamp}";
    Consistency consistency = Consistency::kAuto;
};

// One create-vm-snapshot call for the batch; writes {task_id, data, vm} for
// each VM whose snapshot task was started, notes kExitApi for one that was not.
// A signal (Ctrl-C) during the call: the batch's snapshots are deleted, no
// line is written for them, and Interrupted is thrown.
void create_snapshots(CloudTower& tower, const std::vector<InputLine>& batch, const SnapCreateOptions& options,
                      LineReader& reader, LineWriter& out, RunStatus& status);

}  // namespace hci
