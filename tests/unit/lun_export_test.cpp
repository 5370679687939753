#include <catch2/catch.hpp>

#include "libcommon/api/initiators.h"
#include "tools/hci-lun-export/export_naming.h"

TEST_CASE("clone names carry the prefix, the VM, the disk and the snapshot") {
    CHECK(hci::clone_lun_name("hci-backup-", "web01", 1, "1b41d8eb-0ec3-491a") == "hci-backup-web01-disk1-1b41d8eb");
    CHECK(hci::clone_lun_name("p-", "my vm/1", 0, "abc") == "p-my_vm_1-disk0-abc");
}

TEST_CASE("export URLs name portal, target IQN and LUN id") {
    CHECK(hci::iscsi_export_url("10.0.0.10", "iqn.2016-02.com.smartx:backup", 3) ==
          "iscsi://10.0.0.10/iqn.2016-02.com.smartx:backup/3");
    CHECK(hci::iscsi_export_url("127.0.0.1:3261", "iqn.x:t", 0) == "iscsi://127.0.0.1:3261/iqn.x:t/0");
}

TEST_CASE("iqn_whitelist admits wildcards and listed initiators only") {
    const std::string me = "iqn.2025-01.com.example:backup-host";
    CHECK(hci::iqn_whitelist_admits("*", me));
    CHECK(hci::iqn_whitelist_admits("*/*", me));
    CHECK(hci::iqn_whitelist_admits("iqn.other:a, " + me, me));
    CHECK(hci::iqn_whitelist_admits("iqn.other:a;IQN.2025-01.COM.EXAMPLE:BACKUP-HOST", me));
    CHECK(hci::iqn_whitelist_admits("iqn.other:a\n" + me + "\n", me));
    CHECK_FALSE(hci::iqn_whitelist_admits("", me));
    CHECK_FALSE(hci::iqn_whitelist_admits("iqn.other:a,iqn.other:b", me));
    CHECK_FALSE(hci::iqn_whitelist_admits(me + "-2", me));
}

TEST_CASE("with_initiator adds an initiator once and keeps the others") {
    const std::string me = "iqn.2025-01.com.example:backup-host";
    CHECK(hci::with_initiator("", me) == me);
    CHECK(hci::with_initiator("iqn.other:a", me) == "iqn.other:a," + me);
    CHECK(hci::with_initiator("iqn.other:a, iqn.other:b", me) == "iqn.other:a,iqn.other:b," + me);
    CHECK(hci::with_initiator("iqn.other:a," + me, me) == "iqn.other:a," + me);
    CHECK(hci::with_initiator("*", me) == "*");
}
