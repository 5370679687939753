// The S3 client's parts that need no server: the SigV4 signer against AWS's
// published vectors (tests/fixtures/aws-sigv4/), credentials and endpoint
// resolution, s3:// names, the XML reader, and the error a refused
// connection gives. The cases against the test bed's RGW are in
// s3_rgw_test.cpp (hidden here, run by ctest's unit-s3).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "libcommon/base/error.h"
#include "libcommon/block/repo/backend/s3_store.h"
#include "libcommon/s3/client.h"
#include "libcommon/s3/config.h"
#include "libcommon/s3/sigv4.h"
#include "libcommon/s3/xml.h"
#include "repo_test_util.h"

using namespace hci;
using namespace hci::s3;
using hci::repo_test::exit_code_of;
using hci::repo_test::TempDir;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A request of the suite's .req form: "METHOD PATH[?QUERY] HTTP/1.1", header
// lines "Name:value", an empty line, the body.
struct Parsed {
    SignRequest request;
    std::string amz_date;
};

Parsed parse_req(const std::string& text) {
    Parsed p;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    p.request.method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto q = target.find('?');
    p.request.path = uri_encode(target.substr(0, q), true);
    if (q != std::string::npos) {
        std::string query = target.substr(q + 1);
        size_t start = 0;
        while (start <= query.size()) {
            size_t amp = query.find('&', start);
            std::string part = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
            auto eq = part.find('=');
            p.request.query.emplace_back(part.substr(0, eq), eq == std::string::npos ? "" : part.substr(eq + 1));
            if (amp == std::string::npos) break;
            start = amp + 1;
        }
    }
    while (std::getline(in, line) && !line.empty()) {
        auto colon = line.find(':');
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        p.request.headers.emplace_back(name, value);
        if (name == "X-Amz-Date" || name == "x-amz-date") p.amz_date = value;
    }
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    p.request.payload_sha256 = sha256_hex(body);
    return p;
}

const std::string kFixtures = std::string(HCI_TEST_FIXTURES) + "/aws-sigv4/";

std::string sign_file(const std::string& name, const SignScope& base) {
    Parsed p = parse_req(read_file(kFixtures + name + ".req"));
    SignScope scope = base;
    scope.amz_date = p.amz_date;
    return authorization(p.request, scope);
}

EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end() || it->second.empty()) return std::nullopt;
        return it->second;
    };
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("SigV4: AWS's published test suite") {
    const SignScope suite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service", ""};
    for (const char* name : {"get-vanilla", "get-vanilla-query-order-key-case", "get-vanilla-query-order-key",
                             "get-vanilla-query-unreserved", "get-vanilla-empty-query-key", "get-header-value-trim",
                             "post-vanilla", "post-x-www-form-urlencoded", "post-sts-header-before"}) {
        INFO(name);
        CHECK(sign_file(name, suite) == read_file(kFixtures + name + ".authz"));
    }
    // The intermediate steps too, where the suite gives them.
    for (const char* name : {"get-vanilla-query-order-key", "post-x-www-form-urlencoded"}) {
        INFO(name);
        Parsed p = parse_req(read_file(kFixtures + name + ".req"));
        CHECK(canonical_request(p.request) == read_file(kFixtures + name + ".creq"));
    }
    Parsed p = parse_req(read_file(kFixtures + "post-x-www-form-urlencoded.req"));
    SignScope scope = suite;
    scope.amz_date = p.amz_date;
    CHECK(string_to_sign(scope, canonical_request(p.request)) ==
          read_file(kFixtures + "post-x-www-form-urlencoded.sts"));
}

TEST_CASE("SigV4: the S3 API reference's examples (range GET, PUT with a '$' key, ?lifecycle, list)") {
    const SignScope docs{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3", ""};
    for (const char* name : {"s3/get-object-range", "s3/put-object", "s3/get-bucket-lifecycle", "s3/list-objects"}) {
        INFO(name);
        CHECK(sign_file(name, docs) == read_file(kFixtures + name + ".authz"));
    }
    // A changed byte anywhere changes the signature (the check can fail).
    Parsed p = parse_req(read_file(kFixtures + "s3/get-object-range.req"));
    SignScope scope = docs;
    scope.amz_date = p.amz_date;
    p.request.headers[1].second = "bytes=0-8";
    CHECK(authorization(p.request, scope) != read_file(kFixtures + "s3/get-object-range.authz"));
}

TEST_CASE("SigV4 helpers: encoding, canonical query, digests") {
    CHECK(uri_encode("packs/ab/0123.pack", true) == "packs/ab/0123.pack");
    CHECK(uri_encode("a b/c+d=e~", false) == "a%20b%2Fc%2Bd%3De~");
    CHECK(uri_encode("\xc3\xa9", true) == "%C3%A9");
    CHECK(canonical_query({{"prefix", "dir/"}, {"list-type", "2"}, {"delete", ""}}) == "delete=&list-type=2&prefix=dir%2F");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(md5_base64("", 0) == "1B2M2Y8AsgTpgAmY7PhCfg==");
    CHECK(md5_hex("abc", 3) == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(amz_date(1440938160) == "20150830T123600Z");
}

TEST_CASE("S3 credentials: environment first, then the shared file's profile; messages never hold a secret") {
    SECTION("environment, with a session token") {
        auto c = load_credentials(fake_env({{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s3cr3t-env"},
                                            {"AWS_SESSION_TOKEN", "tok"}}));
        CHECK(c.access_key_id == "AKID");
        CHECK(c.secret_access_key == "s3cr3t-env");
        CHECK(c.session_token == "tok");
    }
    SECTION("half of a pair in the environment is an error naming the missing variable") {
        std::string m = message_of([] { load_credentials(fake_env({{"AWS_SECRET_ACCESS_KEY", "s3cr3t-env"}})); });
        CHECK(m.find("AWS_ACCESS_KEY_ID is not set") != std::string::npos);
        CHECK(m.find("s3cr3t-env") == std::string::npos);
        CHECK(exit_code_of([] { load_credentials(fake_env({{"AWS_SECRET_ACCESS_KEY", "x"}})); }) == kExitUsage);
    }
    SECTION("the shared credentials file, default and named profiles") {
        TempDir dir;
        std::ofstream(dir.path + "/credentials") << "# comment\n[default]\naws_access_key_id = DEF\n"
                                                    "aws_secret_access_key = def-secret\n\n[backup]\n"
                                                    "aws_access_key_id=BAK\naws_secret_access_key=bak-secret\n"
                                                    "aws_session_token = bak-token\n[half]\naws_access_key_id=H\n";
        auto file = dir.path + "/credentials";
        auto c = load_credentials(fake_env({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
        CHECK(c.access_key_id == "DEF");
        CHECK(c.secret_access_key == "def-secret");
        c = load_credentials(fake_env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "backup"}}));
        CHECK(c.access_key_id == "BAK");
        CHECK(c.session_token == "bak-token");
        CHECK(c.source.find("[backup]") != std::string::npos);
        // ~/.aws/credentials through HOME.
        std::filesystem::create_directories(dir.path + "/.aws");
        std::filesystem::copy_file(file, dir.path + "/.aws/credentials");
        CHECK(load_credentials(fake_env({{"HOME", dir.path}})).access_key_id == "DEF");
        // The environment beats the file.
        CHECK(load_credentials(fake_env({{"HOME", dir.path}, {"AWS_ACCESS_KEY_ID", "E"}, {"AWS_SECRET_ACCESS_KEY", "e"}}))
                  .access_key_id == "E");
        std::string m = message_of([&] { load_credentials(fake_env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "nope"}})); });
        CHECK(m.find("no profile [nope]") != std::string::npos);
        m = message_of([&] { load_credentials(fake_env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "half"}})); });
        CHECK(m.find("lacks") != std::string::npos);
        CHECK(m.find("secret") == m.find("secret_access_key"));  // the key's name, never a value
    }
    SECTION("none anywhere") {
        CHECK(exit_code_of([] { load_credentials(fake_env({{"HOME", "/nonexistent"}})); }) == kExitUsage);
    }
}

TEST_CASE("S3 settings: endpoint, region and s3:// names") {
    auto o = resolve_options({}, fake_env({{"AWS_REGION", "eu-west-1"}}));
    CHECK(o.region == "eu-west-1");
    CHECK(o.endpoint == "https://s3.eu-west-1.amazonaws.com");
    o = resolve_options({}, fake_env({{"AWS_DEFAULT_REGION", "ap-east-1"}, {"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"}}));
    CHECK(o.region == "ap-east-1");
    CHECK(o.endpoint == "http://127.0.0.1:7480");
    Options explicit_endpoint;
    explicit_endpoint.endpoint = "http://10.0.0.1:80/";
    CHECK(resolve_options(explicit_endpoint, fake_env({{"AWS_ENDPOINT_URL", "http://x"}})).endpoint == "http://10.0.0.1:80/");
    CHECK(resolve_options({}, fake_env({})).region == "us-east-1");

    CHECK(parse_endpoint("http://127.0.0.1:7480").authority() == "127.0.0.1:7480");
    CHECK(parse_endpoint("https://s3.example.com:443/").authority() == "s3.example.com");  // curl sends no :443
    CHECK(parse_endpoint("http://[::1]:8000").host == "[::1]");
    for (const char* bad : {"127.0.0.1:7480", "ftp://x", "http://", "http://h/path", "http://u:p@h", "http://h:x"})
        CHECK(exit_code_of([&] { parse_endpoint(bad); }) == kExitUsage);

    auto loc = repo::parse_s3_url("s3://backups/site-a/repo1/");
    CHECK(loc.bucket == "backups");
    CHECK(loc.prefix == "site-a/repo1");
    CHECK(repo::parse_s3_url("s3://backups").prefix.empty());
    for (const char* bad : {"s3://", "s3://B", "s3://ab", "s3://backups/a//b", "s3://backups/../x", "/dir"})
        CHECK(exit_code_of([&] { repo::parse_s3_url(bad); }) == kExitUsage);
}

TEST_CASE("S3 XML: element texts, entities, escaping") {
    std::string page =
        "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a&amp;b</Key><Size>10</Size></Contents>"
        "<Contents><Key>c&#x2F;&#233;</Key><Size>0</Size></Contents>"
        "<NextContinuationToken>tok/+=</NextContinuationToken><Prefix/></ListBucketResult>";
    auto contents = xml::elements(page, "Contents");
    REQUIRE(contents.size() == 2);
    CHECK(xml::text(contents[0], "Key") == "a&b");
    CHECK(xml::text(contents[1], "Key") == "c/\xc3\xa9");
    CHECK(xml::text(page, "Key") == "a&b");  // not <KeyCount>
    CHECK(xml::text(page, "Prefix") == "");
    CHECK(xml::text(page, "NextContinuationToken") == "tok/+=");
    CHECK(!xml::text(page, "Missing"));
    CHECK(xml::escape("<a&'\">") == "&lt;a&amp;&apos;&quot;&gt;");
}

TEST_CASE("S3 client: a refused connection is one line naming the endpoint and bucket, without the secret") {
    Options o;
    o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
    o.region = "us-east-1";
    o.retry.max_attempts = 2;
    o.retry.base_delay_ms = 1;
    Client client("some-bucket", o, Credentials{"AKIDTEST", "very-secret-key-123", "", "test"});
    std::string m = message_of([&] { client.put("k", "x", 1, true); });
    INFO(m);
    CHECK(m.find("http://127.0.0.1:1") != std::string::npos);
    CHECK(m.find("s3://some-bucket/k") != std::string::npos);
    CHECK(m.find("very-secret-key-123") == std::string::npos);
    CHECK(m.find('\n') == std::string::npos);
    CHECK(exit_code_of([&] { client.get("k"); }) == kExitApi);
    CHECK(client.requests_sent() == 4);  // two attempts each: retried as the policy says
}
