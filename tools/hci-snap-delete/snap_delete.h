#pragma once
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"

namespace hci {

struct SnapDeleteOptions {
    bool wait = true;  // --no-wait clears it
    TaskWaitSettings wait_settings;
};

// One delete-vm-snapshot call for the snapshots named by the batch (each
// snapshot once, however many lines name it), then waits for the tasks and
// passes through the lines whose snapshot is gone. Interrupted (Ctrl-C),
// it still waits for the deletions it started and writes their lines, then
// throws Interrupted.
void delete_snapshots(CloudTower& tower, const std::vector<InputLine>& batch, const SnapDeleteOptions& options,
                      LineReader& reader, LineWriter& out, RunStatus& status);

// Deletes every VM snapshot whose name starts with prefix (what killed
// backups left) and prints each one that is gone.
void delete_stale_snapshots(CloudTower& tower, const std::string& prefix, const SnapDeleteOptions& options,
                            LineWriter& out, RunStatus& status);

}  // namespace hci
