#pragma once
// The iSCSI initiator name the backup host uses when none is configured
// (ZADP_INITIATOR_IQN, --initiator-iqn): zadp-* log in with it, and
// hci-lun-export --check checks that the target admits it.
#include <string>

namespace hci {

// iqn.2026-11.io.hci-backup:<hostname, lowercased, reduced to [a-z0-9.-]>.
std::string default_initiator_iqn();
std::string initiator_iqn_for_host(const std::string& hostname);

}  // namespace hci
