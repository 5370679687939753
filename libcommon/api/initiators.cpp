#include "libcommon/api/initiators.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace hci {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

void for_each_entry(const std::string& list, const std::function<void(const std::string&)>& f) {
    std::string entry;
    for (char c : list + ",") {
        if (c == ',' || c == ';' || std::isspace(static_cast<unsigned char>(c))) {
            if (!entry.empty()) f(entry);
            entry.clear();
        } else {
            entry.push_back(c);
        }
    }
}

}  // namespace

bool iqn_whitelist_admits(const std::string& whitelist, const std::string& initiator_iqn) {
    const std::string want = lower(initiator_iqn);
    bool admitted = false;
    for_each_entry(whitelist, [&](const std::string& e) { admitted |= e == "*" || e == "*/*" || lower(e) == want; });
    return admitted;
}

std::string with_initiator(const std::string& list, const std::string& initiator_iqn) {
    if (iqn_whitelist_admits(list, initiator_iqn)) return list;
    std::string out;
    for_each_entry(list, [&](const std::string& e) { out += e + ","; });
    return out + initiator_iqn;
}

}  // namespace hci
