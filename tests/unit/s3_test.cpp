// The S3 client's parts that need no server: the SigV4 signer against AWS's
// published vectors (tests/fixtures/aws-sigv4/), credentials and endpoint
// resolution, s3:// names, the XML reader, and the error a refused
// connection gives, and (against a canned loopback server) retries, the
// create-only PUT's retry after a 500, error codes and paging. The cases against the test bed's RGW are in
// s3_rgw_test.cpp (hidden here, run by ctest's unit-s3).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

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

namespace {

// A loopback HTTP server that answers each request with the next canned
// response, then closes the connection: for what RGW cannot be made to do on
// demand (503 SlowDown, a 500 after which the object exists, a payload hash
// mismatch). It records each request's head.
class CannedServer {
public:
    explicit CannedServer(std::vector<std::string> responses) : responses_(std::move(responses)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 8) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~CannedServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<std::string> requests;  // "METHOD TARGET" line and headers, read after the client is done

private:
    void serve() {
        for (const auto& response : responses_) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string in;
            char buf[65536];
            size_t head_end;
            while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
                ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) break;
                in.append(buf, static_cast<size_t>(n));
            }
            std::string head = in.substr(0, head_end);
            size_t length = 0;
            for (std::string name : {"Content-Length: ", "content-length: "})
                if (auto p = head.find(name); p != std::string::npos) length = std::stoul(head.substr(p + name.size()));
            while (in.size() < head_end + 4 + length) {
                ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) break;
                in.append(buf, static_cast<size_t>(n));
            }
            requests.push_back(head);
            ssize_t sent = ::write(c, response.data(), response.size());  // a short write fails the client's check
            (void)sent;
            ::close(c);
        }
    }

    std::vector<std::string> responses_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

std::string reply(int status, const std::string& reason, const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nDate: Mon, 07 Dec 2026 17:00:00 GMT\r\n" +
           extra + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// A HEAD's answer: the object's length and ETag, no body.
std::string head_reply(size_t length, const std::string& etag) {
    return "HTTP/1.1 200 OK\r\nETag: \"" + etag + "\"\r\nContent-Length: " + std::to_string(length) +
           "\r\nConnection: close\r\n\r\n";
}

std::string error_reply(int status, const std::string& reason, const std::string& code) {
    return reply(status, reason, "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message></Message></Error>");
}

Client canned_client(const CannedServer& server, int attempts = 5) {
    Options o;
    o.endpoint = server.endpoint();
    o.region = "us-east-1";
    o.retry.max_attempts = attempts;
    o.retry.base_delay_ms = 1;
    return Client("bucket", o, Credentials{"AKIDTEST", "very-secret-key-123", "", "test"});
}

}  // namespace

TEST_CASE("S3 client: 503 SlowDown is retried; every attempt signs the payload's SHA-256 and If-None-Match") {
    CannedServer server({error_reply(503, "Slow Down", "SlowDown"), error_reply(503, "Slow Down", "SlowDown"),
                         reply(200, "OK", "")});
    {
        Client c = canned_client(server);
        CHECK(c.put("dir/k", "payload", 7, true));
        CHECK(c.requests_sent() == 3);
    }
    REQUIRE(server.requests.size() == 3);
    for (const auto& head : server.requests) {
        INFO(head);
        CHECK(head.starts_with("PUT /bucket/dir/k HTTP/1.1"));
        CHECK(head.find("if-none-match: *") != std::string::npos);
        CHECK(head.find("x-amz-content-sha256: " + sha256_hex("payload")) != std::string::npos);
        CHECK(head.find("SignedHeaders=host;if-none-match;x-amz-content-sha256;x-amz-date") != std::string::npos);
        CHECK(head.find("very-secret-key-123") == std::string::npos);
    }
}

TEST_CASE("S3 client: a create-only PUT retried after a 500 tells its own object (ETag) from another writer's") {
    const std::string ours = "lease of host a";
    SECTION("the object that is there holds our bytes: created") {
        CannedServer server({error_reply(500, "Internal Server Error", "InternalError"),
                             error_reply(412, "Precondition Failed", "PreconditionFailed"),
                             head_reply(ours.size(), md5_hex(ours.data(), ours.size()))});
        Client c = canned_client(server);
        CHECK(c.put("lease", ours.data(), ours.size(), true));
    }
    SECTION("another writer's bytes: not created") {
        CannedServer server({error_reply(500, "Internal Server Error", "InternalError"),
                             error_reply(412, "Precondition Failed", "PreconditionFailed"),
                             head_reply(ours.size(), md5_hex("other bytes 1234", 15))});
        Client c = canned_client(server);
        CHECK(!c.put("lease", ours.data(), ours.size(), true));
    }
    SECTION("a 412 at the first attempt needs no look") {
        CannedServer server({error_reply(412, "Precondition Failed", "PreconditionFailed")});
        Client c = canned_client(server);
        CHECK(!c.put("lease", ours.data(), ours.size(), true));
        CHECK(c.requests_sent() == 1);
    }
}

TEST_CASE("S3 client: errors map to exit codes with the S3 code in one line") {
    SECTION("the server got other bytes: integrity, exit 6") {
        CannedServer server({error_reply(400, "Bad Request", "XAmzContentSHA256Mismatch")});
        Client c = canned_client(server);
        std::string m = message_of([&] { c.put("k", "x", 1, false); });
        CHECK(m.find("XAmzContentSHA256Mismatch") != std::string::npos);
        CannedServer again({error_reply(400, "Bad Request", "BadDigest")});
        Client c2 = canned_client(again);
        CHECK(exit_code_of([&] { c2.put("k", "x", 1, false); }) == kExitIntegrity);
    }
    SECTION("still busy after the retries: exit 3, saying so") {
        CannedServer server({error_reply(503, "Slow Down", "SlowDown"), error_reply(503, "Slow Down", "SlowDown")});
        Client c = canned_client(server, 2);
        std::string m = message_of([&] { c.get("k"); });
        INFO(m);
        CHECK(m.find("HTTP 503 SlowDown") != std::string::npos);
        CHECK(m.find(server.endpoint()) != std::string::npos);
        CHECK(c.requests_sent() == 2);
    }
    SECTION("clock skew names this host's and the server's time") {
        CannedServer server({error_reply(403, "Forbidden", "RequestTimeTooSkewed")});
        Client c = canned_client(server);
        std::string m = message_of([&] { c.get("k"); });
        INFO(m);
        CHECK(m.find("clock skew") != std::string::npos);
        CHECK(m.find("this host's time is ") != std::string::npos);
        CHECK(m.find("Mon, 07 Dec 2026 17:00:00 GMT") != std::string::npos);
    }
}

TEST_CASE("S3 client: ListObjectsV2 follows continuation tokens, encoded as signed") {
    auto page = [](const std::string& keys, const std::string& token) {
        std::string body = "<ListBucketResult>";
        for (char k : keys) body += "<Contents><Key>dir/" + std::string(1, k) + "</Key><Size>3</Size></Contents>";
        body += token.empty() ? "<IsTruncated>false</IsTruncated>"
                              : "<IsTruncated>true</IsTruncated><NextContinuationToken>" + token + "</NextContinuationToken>";
        return reply(200, "OK", body + "</ListBucketResult>");
    };
    CannedServer server({page("ab", "t/1+="), page("c", "")});
    std::vector<std::string> keys;
    {
        Client c = canned_client(server);
        c.list("dir/", [&](const std::string& k, uint64_t size) {
            keys.push_back(k);
            CHECK(size == 3);
        }, 2);
    }
    CHECK(keys == std::vector<std::string>{"dir/a", "dir/b", "dir/c"});
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0].starts_with("GET /bucket?list-type=2&max-keys=2&prefix=dir%2F HTTP"));
    CHECK(server.requests[1].starts_with("GET /bucket?continuation-token=t%2F1%2B%3D&list-type=2&max-keys=2&prefix=dir%2F HTTP"));
}

TEST_CASE("S3 client: virtual-hosted style puts the bucket in the host name, and signs that host") {
    CannedServer server({reply(200, "OK", "")});
    const std::string port = server.endpoint().substr(server.endpoint().rfind(':') + 1);
    {
        Options o;
        o.endpoint = "http://localhost:" + port;  // curl resolves *.localhost to loopback itself
        o.region = "us-east-1";
        o.virtual_hosted = true;
        Client c("bucket", o, Credentials{"AKIDTEST", "very-secret-key-123", "", "test"});
        CHECK(c.put("dir/k", "x", 1, false));
    }
    REQUIRE(server.requests.size() == 1);
    INFO(server.requests[0]);
    CHECK(server.requests[0].starts_with("PUT /dir/k HTTP/1.1"));
    CHECK(server.requests[0].find("Host: bucket.localhost:" + port + "\r\n") != std::string::npos);
}

namespace {

// A store whose create() replaces like save(): what a server that ignores
// If-None-Match does. create_only_holds() must refuse it.
class IgnoresCondition : public repo::ObjectStore {
public:
    void save(const std::string& k, const void* d, size_t n) override { inner_->save(k, d, n); }
    bool create(const std::string& k, const void* d, size_t n) override {
        inner_->save(k, d, n);
        return true;
    }
    std::optional<std::vector<unsigned char>> load(const std::string& k, uint64_t o, uint64_t n) override {
        return inner_->load(k, o, n);
    }
    std::optional<repo::ObjectInfo> stat(const std::string& k) override { return inner_->stat(k); }
    void list(const std::string& p, const std::function<void(const repo::ObjectInfo&)>& v) override { inner_->list(p, v); }
    uint64_t remove(const std::vector<std::string>& k) override { return inner_->remove(k); }
    int64_t now() override { return inner_->now(); }
    void sync() override {}
    std::string where(const std::string& k) const override { return inner_->where(k); }

private:
    std::unique_ptr<repo::ObjectStore> inner_ = repo::open_memory_store();
};

}  // namespace

TEST_CASE("create-only probe: holds on a store that keeps create-only, fails on one that ignores it, leaves nothing") {
    auto memory = repo::open_memory_store();
    CHECK(repo::create_only_holds(*memory, "probe-1"));
    CHECK(!memory->stat("probe-1"));
    IgnoresCondition ignoring;
    CHECK(!repo::create_only_holds(ignoring, "probe-1"));
    CHECK(!ignoring.stat("probe-1"));
}
