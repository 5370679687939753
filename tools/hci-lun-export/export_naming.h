#pragma once
// Pure helpers of hci-lun-export, unit-tested: clone names and the export URL.
#include <string>

namespace hci {

// "hci-backup-web01-disk0-1b41d8eb": prefix, VM name, disk index and the
// start of the LUN snapshot's name, so leftovers are found by prefix and
// still say what they were.
std::string clone_lun_name(const std::string& prefix, const std::string& vm_name, long disk_index,
                           const std::string& lun_snapshot_name);

// iscsi://<portal>/<target iqn>/<lun id>
std::string iscsi_export_url(const std::string& portal, const std::string& iqn, long lun_id);

}  // namespace hci
