#pragma once
// hci-lun-admit: let one initiator reach the LUNs behind a VM's new volumes
// (IscsiLun.allowed_initiators, changed with update-iscsi-lun) for the time of
// a restore, and put the recorded value back afterwards with --revoke.
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"
#include "libcommon/base/json_lines.h"

namespace hci {

struct LunAdmitOptions {
    std::string initiator_iqn;  // --initiator-iqn / ZADP_INITIATOR_IQN
    bool revoke = false;        // --revoke: put the recorded value back
    TaskWaitSettings wait_settings;
};

// One batch of lines with lun.id: admit (adds "admission": {initiator,
// previous, changed}) or revoke (puts admission.previous back and drops
// "admission"). One get-iscsi-luns call and one update-iscsi-lun call per
// distinct new value. Ctrl-C while admitting reverts this batch's changes.
void admit_batch(CloudTower& tower, const std::vector<InputLine>& batch, const LunAdmitOptions& options,
                 LineReader& reader, LineWriter& out, RunStatus& status);

}  // namespace hci
