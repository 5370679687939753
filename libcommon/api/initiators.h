#pragma once
// Lists of iSCSI initiators as CloudTower keeps them: a target's
// iqn_whitelist and a LUN's allowed_initiators.
#include <string>

namespace hci {

// "*" or "*/*" admits every initiator; otherwise IQNs separated by commas,
// semicolons or white space (matched exactly, ignoring case, as IQNs are
// case-insensitive).
bool iqn_whitelist_admits(const std::string& whitelist, const std::string& initiator_iqn);

// The list with initiator_iqn added (comma-separated), or unchanged when it
// admits that initiator already.
std::string with_initiator(const std::string& list, const std::string& initiator_iqn);

}  // namespace hci
