#pragma once
// Pure helpers of hci-lun-export, unit-tested: clone names, the export URL,
// and whether a target's iqn_whitelist admits an initiator.
#include <string>

namespace hci {

// "hci-backup-web01-disk0-1b41d8eb": prefix, VM name, disk index and the
// start of the LUN snapshot's name, so leftovers are found by prefix and
// still say what they were.
std::string clone_lun_name(const std::string& prefix, const std::string& vm_name, long disk_index,
                           const std::string& lun_snapshot_name);

// iscsi://<portal>/<target iqn>/<lun id>
std::string iscsi_export_url(const std::string& portal, const std::string& iqn, long lun_id);

// CloudTower's iqn_whitelist: "*" or "*/*" admits every initiator; otherwise
// IQNs separated by commas, semicolons or white space (matched exactly,
// ignoring case, as IQNs are case-insensitive).
bool iqn_whitelist_admits(const std::string& whitelist, const std::string& initiator_iqn);

}  // namespace hci
