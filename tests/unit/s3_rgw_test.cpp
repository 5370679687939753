// The S3 client and store against the test bed's Ceph RGW
// (scripts/rgw-testbed.sh): hidden from the plain unit run, run by ctest's
// unit-s3 (`unit-tests --skip-unless-s3 ENV_FILE "[s3]"`), skipped (77)
// where there is no RGW. The object store conformance suite runs there too
// (object_store_test.cpp's for_each_store).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/s3_store.h"
#include "libcommon/s3/client.h"
#include "repo_test_util.h"
#include "s3_test_util.h"

using namespace hci;
using hci::repo_test::exit_code_of;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

s3::Options rgw_options() {
    s3::Options o = s3::resolve_options({});
    o.retry.max_attempts = 2;
    o.retry.base_delay_ms = 1;
    return o;
}

s3::Credentials rgw_credentials() { return s3::load_credentials(); }

std::pair<int, std::string> failure_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return {e.code(), e.what()};
    }
    return {0, ""};
}

// A bucket of the test bed that surely exists.
s3::Client& test_bucket() {
    static s3::Client client(s3_test::kBucket, rgw_options(), rgw_credentials());
    static bool made = (client.create_bucket(), true);
    (void)made;
    return client;
}

}  // namespace

TEST_CASE("S3 on RGW: create-only PUT gives 412 to the second writer, and the probe says so", "[.][s3]") {
    auto& c = test_bucket();
    const std::string key = s3_test::fresh_prefix() + "/once";
    CHECK(c.put(key, "first", 5, true));
    CHECK(!c.put(key, "second", 6, true));
    CHECK(c.put(key, "third", 5, false));  // a plain PUT replaces
    auto got = *c.get(key);
    CHECK(std::string(got.begin(), got.end()) == "third");
    CHECK(c.head(key)->etag == s3::md5_hex("third", 5));
    auto store = s3_test::fresh_store();
    CHECK(repo::create_only_holds(*store, "probe"));
    CHECK(!store->stat("probe"));  // the probe cleans up
}

TEST_CASE("S3 on RGW: listing pages with continuation tokens; DeleteObjects in batches", "[.][s3]") {
    auto& c = test_bucket();
    const std::string prefix = s3_test::fresh_prefix() + "/";
    for (int i = 0; i < 25; ++i) c.put(prefix + "k" + std::to_string(100 + i), "x", 1, false);
    std::vector<std::string> keys;
    c.list(prefix, [&](const std::string& k, uint64_t size) {
        keys.push_back(k);
        CHECK(size == 1);
    }, 7);  // four pages
    REQUIRE(keys.size() == 25);
    CHECK(std::is_sorted(keys.begin(), keys.end()));
    CHECK(keys.front() == prefix + "k100");
    c.remove_many({keys.begin(), keys.begin() + 10});
    c.remove(keys[10]);
    c.remove(prefix + "never-there");  // no error
    size_t left = 0;
    c.list(prefix, [&](const std::string&, uint64_t) { ++left; });
    CHECK(left == 14);
}

TEST_CASE("S3 store on RGW: removing more than 1000 keys, and the store's clock", "[.][s3]") {
    auto store = s3_test::fresh_store();
    std::vector<std::string> keys;
    for (int i = 0; i < 1010; ++i) keys.push_back("gc/" + std::to_string(i));
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
        writers.emplace_back([&, t] {
            for (size_t i = t; i < keys.size(); i += 8) store->save(keys[i], "x", 1);
        });
    for (auto& w : writers) w.join();
    keys.push_back("gc/not-there");
    CHECK(store->remove(keys) == 1010);  // two DeleteObjects batches
    size_t left = 0;
    store->list("gc/", [&](const repo::ObjectInfo&) { ++left; });
    CHECK(left == 0);
    // RGW runs on this host: its Date is this host's clock, give or take.
    CHECK(std::llabs(store->now() - static_cast<int64_t>(std::time(nullptr))) < 120);
    CHECK(store->where("a/b").ends_with("/a/b"));
    CHECK(store->where("a/b").starts_with(std::string("s3://") + s3_test::kBucket + "/run-"));
}

TEST_CASE("S3 on RGW: each error is one clear line naming endpoint, bucket and S3 code, never the secret", "[.][s3]") {
    const std::string endpoint = env("AWS_ENDPOINT_URL");
    const std::string secret = env("AWS_SECRET_ACCESS_KEY");
    test_bucket();
    auto check_line = [&](const std::string& m) {
        INFO(m);
        CHECK(m.find(endpoint) != std::string::npos);
        CHECK(m.find(secret) == std::string::npos);
        CHECK(m.find('\n') == std::string::npos);
    };
    SECTION("wrong secret key") {
        auto creds = rgw_credentials();
        creds.secret_access_key = "wrong-" + creds.secret_access_key;
        s3::Client c(s3_test::kBucket, rgw_options(), creds);
        auto [code, m] = failure_of([&] { c.put("k", "x", 1, false); });
        CHECK(code == kExitApi);
        CHECK(m.find("SignatureDoesNotMatch") != std::string::npos);
        CHECK(m.find("s3://hci-unit-tests/k") != std::string::npos);
        CHECK(m.find(creds.secret_access_key) == std::string::npos);
        check_line(m);
    }
    SECTION("unknown access key") {
        auto creds = rgw_credentials();
        creds.access_key_id = "NOSUCHKEYID000000000";
        s3::Client c(s3_test::kBucket, rgw_options(), creds);
        auto [code, m] = failure_of([&] { c.get("k"); });
        CHECK(code == kExitApi);
        CHECK(m.find("InvalidAccessKeyId") != std::string::npos);
        check_line(m);
    }
    SECTION("missing bucket: exit 4 naming it") {
        auto [code, m] = failure_of([&] { repo::open_s3_store("s3://hci-no-such-bucket/x"); });
        CHECK(code == kExitNotFound);
        CHECK(m.find("s3://hci-no-such-bucket") != std::string::npos);
        CHECK(m.find("NoSuchBucket") != std::string::npos);
        check_line(m);
        s3::Client c("hci-no-such-bucket", rgw_options(), rgw_credentials());
        auto [code2, m2] = failure_of([&] { c.put("k", "x", 1, true); });
        CHECK(code2 == kExitNotFound);
        CHECK(m2.find("NoSuchBucket") != std::string::npos);
    }
    SECTION("TLS to the plain port") {
        auto o = rgw_options();
        o.endpoint = "https://" + endpoint.substr(7);
        s3::Client c(s3_test::kBucket, o, rgw_credentials());
        auto [code, m] = failure_of([&] { c.get("k"); });
        INFO(m);
        CHECK(code == kExitApi);
        CHECK(m.find("does not speak TLS") != std::string::npos);
        CHECK(m.find("did you mean " + endpoint) != std::string::npos);
    }
    SECTION("wrong region") {
        auto o = rgw_options();
        o.region = "eu-central-1";
        s3::Client c(s3_test::kBucket, o, rgw_credentials());
        auto [code, m] = failure_of([&] {
            c.put("region-probe", "x", 1, false);
            c.remove("region-probe");
        });
        // RGW 16.2 checks the signature with whatever region the request's
        // scope names and refuses none (AWS answers AuthorizationHeaderMalformed,
        // which the client explains as a wrong region): on RGW this works.
        INFO(m);
        CHECK(code == 0);
    }
}
