#pragma once
// Deleting VM snapshots: hci-snap-delete does it for its input, and
// hci-snap-create to undo its current batch when interrupted.
#include <map>
#include <string>

#include "libcommon/api/tasks.h"
#include "libcommon/base/exit_codes.h"

namespace hci {

struct SnapshotDeletion {
    ExitCode code = kExitOk;  // kExitNotFound: there was no such snapshot
    std::string failure;      // empty when the snapshot is gone
};

// One delete-vm-snapshot call for ids (each once); with wait, then waits for
// its tasks. Returns how it went for each id.
std::map<std::string, SnapshotDeletion> delete_vm_snapshots(CloudTower& tower, const json::array& ids, bool wait,
                                                            const TaskWaitSettings& settings);

}  // namespace hci
