#include <catch2/catch.hpp>

#include "libcommon/base/error.h"
#include "tools/hci-lun-export/export_chap.h"

namespace json = boost::json;

static json::object chap_target(json::array entries, bool enabled = true) {
    return json::object{{"name", "tgt"}, {"chap_enabled", enabled}, {"initiator_chaps", std::move(entries)}};
}

TEST_CASE("the CHAP user: explicit, else the entry for this initiator, else the only one") {
    const json::array two{json::object{{"initiator_iqn", "iqn.x:a"}, {"chap_name", "alice"}, {"chap_secret", "s1"}},
                          json::object{{"initiator_iqn", "IQN.X:B"}, {"chap_name", "bob"}, {"chap_secret", "s2"}}};
    CHECK(hci::chap_user_for(chap_target(two), "iqn.x:a", "") == "alice");
    CHECK(hci::chap_user_for(chap_target(two), "iqn.x:b", "") == "bob");  // IQNs ignore case
    CHECK(hci::chap_user_for(chap_target(two), "iqn.x:a", "carol") == "carol");
    CHECK_THROWS_AS(hci::chap_user_for(chap_target(two), "", ""), hci::Error);
    CHECK_THROWS_AS(hci::chap_user_for(chap_target(two), "iqn.x:c", ""), hci::Error);
    CHECK(hci::chap_user_for(chap_target(json::array{two[1]}), "", "") == "bob");
}

TEST_CASE("no CHAP user when CHAP is off; the target's own name when it has no entries") {
    CHECK(hci::chap_user_for(chap_target({}, false), "iqn.x:a", "").empty());
    CHECK(hci::chap_user_for(json::object{{"name", "t"}}, "", "").empty());
    json::object own = chap_target({});
    own["chap_name"] = "target-user";
    CHECK(hci::chap_user_for(own, "", "") == "target-user");
    CHECK_THROWS_AS(hci::chap_user_for(chap_target({}), "", ""), hci::Error);
}

TEST_CASE("the CHAP user goes into the URL, never a secret") {
    CHECK(hci::with_chap_user("iscsi://10.0.0.1:3260/iqn.x:t/3", "alice") == "iscsi://alice@10.0.0.1:3260/iqn.x:t/3");
    CHECK(hci::with_chap_user("iscsi://10.0.0.1/iqn.x:t/3", "") == "iscsi://10.0.0.1/iqn.x:t/3");
}
