#include "export_chap.h"

#include <algorithm>
#include <cctype>

#include "libcommon/base/error.h"
#include "libcommon/base/line_fields.h"

namespace hci {
namespace {

std::string text(const boost::json::object& o, const char* key) {
    return string_field(o, std::string("/") + key).value_or("");
}

bool same_iqn(std::string a, std::string b) {
    auto lower = [](std::string& s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    };
    lower(a);
    lower(b);
    return a == b;
}

}  // namespace

std::string chap_user_for(const boost::json::object& target, const std::string& initiator_iqn,
                          const std::string& explicit_user) {
    if (!explicit_user.empty()) return explicit_user;
    const boost::json::value* enabled = target.if_contains("chap_enabled");
    if (!enabled || !enabled->is_bool() || !enabled->get_bool()) return "";
    const std::string name = text(target, "name");
    const boost::json::value* chaps = target.if_contains("initiator_chaps");
    const boost::json::array empty;
    const boost::json::array& entries = chaps && chaps->is_array() ? chaps->get_array() : empty;
    if (entries.empty()) {
        std::string own = text(target, "chap_name");
        if (own.empty()) fail(kExitUsage, "iSCSI target " + name + " requires CHAP but names no CHAP user; give --chap-user");
        return own;
    }
    if (initiator_iqn.empty()) {
        if (entries.size() == 1 && entries[0].is_object() && !text(entries[0].get_object(), "chap_name").empty())
            return text(entries[0].get_object(), "chap_name");
        fail(kExitUsage, "iSCSI target " + name + " requires CHAP and has " + std::to_string(entries.size()) +
                             " initiator CHAP entries; give --initiator-iqn (or ZADP_INITIATOR_IQN) or --chap-user");
    }
    for (const auto& e : entries)
        if (e.is_object() && same_iqn(text(e.get_object(), "initiator_iqn"), initiator_iqn) &&
            !text(e.get_object(), "chap_name").empty())
            return text(e.get_object(), "chap_name");
    fail(kExitUsage, "iSCSI target " + name + " requires CHAP and has no initiator CHAP entry for " + initiator_iqn +
                         "; add one in CloudTower or give --chap-user");
}

std::string with_chap_user(const std::string& url, const std::string& user) {
    static const std::string kScheme = "iscsi://";
    if (user.empty() || url.rfind(kScheme, 0) != 0) return url;
    return kScheme + user + "@" + url.substr(kScheme.size());
}

}  // namespace hci
