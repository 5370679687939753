#pragma once
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"

namespace hci {

// Where clones go: the target, and the portal clients reach it at.
struct ExportTarget {
    json::object target;  // {id, name, iqn_name}
    json::object cluster;  // {id, name} of the target's cluster, when it names one
    std::string portal;   // --portal, else the cluster's iscsi_vip
    std::string chap_user;  // put into the URLs; empty: the target needs no CHAP
    std::string iqn_whitelist;
};

struct LunExportOptions {
    std::string target;         // --target NAME|ID
    std::string portal;         // --portal
    std::string initiator_iqn;  // --initiator-iqn / ZADP_INITIATOR_IQN
    std::string chap_user;      // --chap-user / ZADP_CHAP_USER
    std::string prefix = "hci-backup-";
    TaskWaitSettings wait_settings;
};

// Finds the target (by id or name; exactly one), its portal and CHAP user
// (chap_user_for), and warns when its iqn_whitelist does not admit the
// initiator IQN.
ExportTarget resolve_export_target(CloudTower& tower, const LunExportOptions& options);

// --check: resolves the target as an export would, for the initiator IQN
// (given, else default_initiator_iqn()), and prints one line: target,
// cluster, portal, initiator_iqn, iqn_whitelist, admitted, chap_user.
// Returns 0 when the target admits the initiator, else kExitPartial.
int check_export_target(CloudTower& tower, LunExportOptions options, LineWriter& out);

// One clone-iscsi-lun-from-snapshot call for the batch, wait for the tasks,
// one get-iscsi-luns call to read the clones back, then each line with
// `export` added.
void export_luns(CloudTower& tower, const ExportTarget& where, const std::vector<InputLine>& batch,
                 const LunExportOptions& options, LineReader& reader, LineWriter& out, RunStatus& status);

}  // namespace hci
