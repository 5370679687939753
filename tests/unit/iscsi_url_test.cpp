#include <catch2/catch.hpp>

#include "libcommon/base/error.h"
#include "libcommon/block/iscsi_url.h"

using hci::parse_iscsi_url;

namespace {
int exit_code_of(const std::string& url) {
    try {
        parse_iscsi_url(url);
    } catch (const hci::Error& e) {
        return e.code();
    }
    return 0;
}
std::string message_of(const std::string& url) {
    try {
        parse_iscsi_url(url);
    } catch (const hci::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("iscsi URL: host, default port, target and LUN") {
    auto u = parse_iscsi_url("iscsi://10.0.0.5/iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-1/3");
    CHECK(u.user.empty());
    CHECK(u.host == "10.0.0.5");
    CHECK(u.port == 3260);
    CHECK(u.target == "iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-1");
    CHECK(u.lun == 3);
    CHECK(u.portal() == "10.0.0.5:3260");
    CHECK(u.str() == "iscsi://10.0.0.5:3260/iqn.2016-02.com.smartx:system:zbs-iscsi-datastore-1/3");
}

TEST_CASE("iscsi URL: CHAP user and explicit port") {
    auto u = parse_iscsi_url("iscsi://backup@127.0.0.1:32600/iqn.2026-11.test:t1/0");
    CHECK(u.user == "backup");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 32600);
    CHECK(u.lun == 0);
    CHECK(u.str() == "iscsi://backup@127.0.0.1:32600/iqn.2026-11.test:t1/0");
}

TEST_CASE("iscsi URL: bracketed IPv6 host") {
    auto u = parse_iscsi_url("iscsi://[::1]:3261/iqn.x:y/7");
    CHECK(u.host == "::1");
    CHECK(u.port == 3261);
    CHECK(u.portal() == "[::1]:3261");
}

TEST_CASE("iscsi URL: malformed URLs are usage errors") {
    for (const char* bad : {"iscsi://", "iscsi://host", "iscsi://host/", "iscsi://host/iqn.x", "iscsi://host/iqn.x/",
                            "iscsi://host//1", "iscsi://host/iqn.x/abc", "iscsi://host/iqn.x/-1",
                            "iscsi://host/iqn.x/99999", "iscsi://host:/iqn.x/1", "iscsi://host:0/iqn.x/1",
                            "iscsi://host:70000/iqn.x/1", "iscsi://host:12ab/iqn.x/1", "iscsi://:3260/iqn.x/1",
                            "iscsi://@host/iqn.x/1", "iscsi://[::1/iqn.x/1", "iscsi://host/a/b/1",
                            "iscsi://host/iqn.x/1?header_digest=crc32c", "file:///tmp/x", "/dev/sda"}) {
        INFO(bad);
        CHECK(exit_code_of(bad) == hci::kExitUsage);
    }
}

TEST_CASE("iscsi URL: a secret in the URL is refused without being echoed") {
    for (const char* url : {"iscsi://user%s3cr3tpw@host/iqn.x/1", "iscsi://user:s3cr3tpw@host/iqn.x/1"}) {
        INFO(url);
        CHECK(exit_code_of(url) == hci::kExitUsage);
        std::string msg = message_of(url);
        CHECK(msg.find("s3cr3tpw") == std::string::npos);
        CHECK(msg.find("--chap-secret-file") != std::string::npos);
    }
}

TEST_CASE("default initiator IQN is derived from the host name") {
    CHECK(hci::initiator_iqn_for_host("Backup-Node_01.example.com") == "iqn.2026-11.io.hci-backup:backup-node01.example.com");
    CHECK(hci::initiator_iqn_for_host("") == "iqn.2026-11.io.hci-backup:localhost");
    CHECK(hci::default_initiator_iqn().rfind("iqn.2026-11.io.hci-backup:", 0) == 0);
}
