#pragma once
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"

namespace hci {

struct LunUnexportOptions {
    TaskWaitSettings wait_settings;
};

// Deletes the clone LUNs named by the lines' export.lun.id (one
// delete-iscsi-lun call, remove_snapshot false), waits, passes lines through.
// A LUN that is already gone is a warning, not an error: cleanup may repeat.
void unexport_luns(CloudTower& tower, const std::vector<InputLine>& batch, const LunUnexportOptions& options,
                   LineReader& reader, LineWriter& out, RunStatus& status);

// Lists (and with remove, deletes) the LUNs whose names start with prefix.
void stale_luns(CloudTower& tower, const std::string& prefix, bool remove, const LunUnexportOptions& options,
                LineWriter& out, RunStatus& status);

}  // namespace hci
