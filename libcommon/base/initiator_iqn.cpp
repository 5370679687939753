#include "libcommon/base/initiator_iqn.h"

#include <unistd.h>

#include <cctype>
#include <climits>

namespace hci {

std::string initiator_iqn_for_host(const std::string& hostname) {
    std::string name;
    for (char c : hostname) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '.' || c == '-') name += static_cast<char>(std::tolower(u));
    }
    if (name.empty()) name = "localhost";
    return "iqn.2026-11.io.hci-backup:" + name;
}

std::string default_initiator_iqn() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) buf[0] = 0;
    return initiator_iqn_for_host(buf);
}

}  // namespace hci
