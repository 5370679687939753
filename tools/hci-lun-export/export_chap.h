#pragma once
// Which CHAP user a backup host logs in to an export target with. Pure, so
// the choice is unit-tested; the secret never passes through here (zadp-read
// takes it from --chap-secret-file or ZADP_CHAP_SECRET).
#include <boost/json.hpp>
#include <string>

namespace hci {

// The CHAP user for target (a get-iscsi-targets object): explicit_user when
// given; else, when the target has chap_enabled, its initiator_chaps entry for
// initiator_iqn (IQNs compare ignoring case), the only entry when there is one
// and no IQN was given, or the target's own chap_name when it has no entries;
// else "" (no CHAP). Error(kExitUsage) when CHAP is on and no user fits.
std::string chap_user_for(const boost::json::object& target, const std::string& initiator_iqn,
                          const std::string& explicit_user);

// iscsi://HOST/... with the user added: iscsi://USER@HOST/... (user "" keeps it).
std::string with_chap_user(const std::string& url, const std::string& user);

}  // namespace hci
