#include <catch2/catch.hpp>

#include "libcommon/base/error.h"
#include "tools/hci-snap-create/snapshot_naming.h"
#include "libcommon/api/tasks.h"

using hci::Consistency;

TEST_CASE("auto consistency is file-system only while VM tools run") {
    CHECK(hci::consistent_type_for(Consistency::kAuto, "RUNNING") == "FILE_SYSTEM_CONSISTENT");
    CHECK(hci::consistent_type_for(Consistency::kAuto, "NOT_RUNNING") == "CRASH_CONSISTENT");
    CHECK(hci::consistent_type_for(Consistency::kAuto, "NOT_INSTALLED") == "CRASH_CONSISTENT");
    CHECK(hci::consistent_type_for(Consistency::kAuto, "") == "CRASH_CONSISTENT");
    CHECK(hci::consistent_type_for(Consistency::kCrash, "RUNNING") == "CRASH_CONSISTENT");
    CHECK(hci::consistent_type_for(Consistency::kFileSystem, "NOT_RUNNING") == "FILE_SYSTEM_CONSISTENT");
    CHECK(hci::parse_consistency("fs") == Consistency::kFileSystem);
    CHECK_THROWS_AS(hci::parse_consistency("FS"), hci::Error);
}

TEST_CASE("snapshot name templates expand placeholders in UTC") {
    const std::time_t t = 1735732800;  // 2025-01-01 12:00:00 UTC
    CHECK(hci::expand_name_template("{vm}-backup-{timestamp}", "web01", "id1", t) == "web01-backup-20250101T120000Z");
    CHECK(hci::expand_name_template("{date}/{id}", "web01", "id1", t) == "2025-01-01/id1");
    CHECK(hci::expand_name_template("{{literal}}", "web01", "id1", t) == "{literal}");
    CHECK_THROWS_AS(hci::expand_name_template("{nope}", "web01", "id1", t), hci::Error);
    CHECK_THROWS_AS(hci::expand_name_template("{vm", "web01", "id1", t), hci::Error);
    CHECK_THROWS_AS(hci::checked_name_template(""), hci::Error);
}

TEST_CASE("task outcomes describe failures with error_code and error_message") {
    hci::TaskOutcome o;
    o.id = "t1";
    o.status = hci::TaskOutcome::kFailed;
    o.task = boost::json::parse(R"({"id":"t1","status":"FAILED","progress":1,"finished_at":"2025-01-01T00:00:00Z",
                                     "error_code":"VmToolsNotRunning","error_message":"tools are not running"})")
                 .as_object();
    CHECK(o.describe() == "task t1 FAILED: VmToolsNotRunning: tools are not running");
    CHECK(hci::exit_code_for(o) == hci::kExitTaskFailed);
    auto s = o.summary();
    CHECK(s.size() == 4);
    CHECK(s.at("status") == "FAILED");
    o.status = hci::TaskOutcome::kUnknown;
    CHECK(hci::exit_code_for(o) == hci::kExitNotFound);
    CHECK(o.describe() == "task t1 is unknown to CloudTower");
}
