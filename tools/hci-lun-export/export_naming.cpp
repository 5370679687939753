#include "export_naming.h"

#include <algorithm>
#include <cctype>

namespace hci {

std::string clone_lun_name(const std::string& prefix, const std::string& vm_name, long disk_index,
                           const std::string& lun_snapshot_name) {
    std::string vm;
    for (char c : vm_name) vm.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_');
    return prefix + vm + "-disk" + std::to_string(disk_index) + "-" + lun_snapshot_name.substr(0, 8);
}

std::string iscsi_export_url(const std::string& portal, const std::string& iqn, long lun_id) {
    return "iscsi://" + portal + "/" + iqn + "/" + std::to_string(lun_id);
}

static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool iqn_whitelist_admits(const std::string& whitelist, const std::string& initiator_iqn) {
    std::string entry;
    const std::string want = lower(initiator_iqn);
    for (char c : whitelist + ",") {
        if (c == ',' || c == ';' || std::isspace(static_cast<unsigned char>(c))) {
            if (entry == "*" || entry == "*/*" || (!entry.empty() && lower(entry) == want)) return true;
            entry.clear();
        } else {
            entry.push_back(c);
        }
    }
    return false;
}

}  // namespace hci
