#include "export_naming.h"

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

}  // namespace hci
