#include <catch2/catch.hpp>

#include <map>

#include "libcommon/api/auth.h"
#include "libcommon/base/cli.h"
#include "libcommon/base/error.h"

namespace {

hci::EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

const hci::ToolInfo kInfo{"hci-test", "", "", "request timeout", 30};

hci::CommonOptions parse(std::vector<std::string> args, const hci::EnvLookup& env) {
    std::vector<char*> argv;
    std::string prog = "hci-test";
    argv.push_back(prog.data());
    for (auto& a : args) argv.push_back(a.data());
    hci::po::options_description none;
    return hci::parse_command_line(static_cast<int>(argv.size()), argv.data(), kInfo, none, env).common;
}

}  // namespace

TEST_CASE("defaults apply when neither option nor environment is given") {
    auto c = parse({}, fake_env({}));
    CHECK(c.endpoint.empty());
    CHECK(c.timeout_s == 30);
    CHECK(c.retries == 5);
    CHECK_FALSE(c.insecure);
    CHECK_FALSE(c.fail_fast);
    CHECK(c.verbose == 0);
}

TEST_CASE("the environment beats the default") {
    auto c = parse({}, fake_env({{"CLOUDTOWER_ENDPOINT", "https://env"}, {"CLOUDTOWER_TOKEN_FILE", "/env/token"},
                                 {"CLOUDTOWER_CACERT", "/env/ca.pem"}, {"HCI_RETRIES", "2"},
                                 {"CLOUDTOWER_INSECURE", "1"}}));
    CHECK(c.endpoint == "https://env");
    CHECK(c.token_file == "/env/token");
    CHECK_FALSE(c.token_file_from_option);
    CHECK(c.cacert == "/env/ca.pem");
    CHECK(c.retries == 2);
    CHECK(c.insecure);
}

TEST_CASE("an option beats the environment") {
    auto c = parse({"--endpoint", "https://opt", "--token-file", "/opt/token", "--cacert", "/opt/ca.pem",
                    "--retries", "7", "--timeout", "12.5", "-v", "-v", "--fail-fast"},
                   fake_env({{"CLOUDTOWER_ENDPOINT", "https://env"}, {"CLOUDTOWER_TOKEN_FILE", "/env/token"},
                             {"CLOUDTOWER_CACERT", "/env/ca.pem"}, {"HCI_RETRIES", "2"}}));
    CHECK(c.endpoint == "https://opt");
    CHECK(c.token_file == "/opt/token");
    CHECK(c.token_file_from_option);
    CHECK(c.cacert == "/opt/ca.pem");
    CHECK(c.retries == 7);
    CHECK(c.timeout_s == 12.5);
    CHECK(c.request_timeout_s == 12.5);
    CHECK(c.verbose == 2);
    CHECK(c.fail_fast);
}

TEST_CASE("bad options are usage errors") {
    auto env = fake_env({});
    for (auto args : std::vector<std::vector<std::string>>{
             {"--no-such-option"}, {"--timeout", "abc"}, {"--timeout", "0"}, {"--retries", "0"}, {"stray"}}) {
        try {
            parse(args, env);
            FAIL("expected a usage error for " << args[0]);
        } catch (const hci::Error& e) {
            CHECK(e.code() == hci::kExitUsage);
        }
    }
}

TEST_CASE("a waiting tool keeps single requests short whatever its --timeout") {
    hci::ToolInfo waiting{"hci-wait", "", "", "wait limit", 1800, true};
    hci::po::variables_map vm;
    auto c = hci::resolve_common(vm, fake_env({}), waiting);
    CHECK(c.timeout_s == 1800);
    CHECK(c.request_timeout_s == 60);
}

TEST_CASE("credentials: --token-file, then CLOUDTOWER_TOKEN, then the env token file, then login") {
    char path[] = "/tmp/hci-token-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "  file-token \n", 14) == 14);
    close(fd);
    hci::CommonOptions opt;
    opt.token_file = path;
    opt.token_file_from_option = true;
    auto env_token = fake_env({{"CLOUDTOWER_TOKEN", "env-token"}});

    auto c = hci::choose_credentials(opt, env_token);
    CHECK(c.source == hci::Credentials::kTokenFile);
    CHECK(c.token == "file-token");

    opt.token_file_from_option = false;  // the same file, but from CLOUDTOWER_TOKEN_FILE
    c = hci::choose_credentials(opt, env_token);
    CHECK(c.source == hci::Credentials::kTokenEnv);
    CHECK(c.token == "env-token");

    c = hci::choose_credentials(opt, fake_env({}));
    CHECK(c.source == hci::Credentials::kTokenFile);

    c = hci::choose_credentials(hci::CommonOptions{},
                                fake_env({{"CLOUDTOWER_USERNAME", "admin"}, {"CLOUDTOWER_PASSWORD", "pw"}}));
    CHECK(c.source == hci::Credentials::kLogin);
    CHECK(c.username == "admin");

    CHECK(hci::choose_credentials(hci::CommonOptions{}, fake_env({})).source == hci::Credentials::kNone);
    CHECK_THROWS_AS(hci::choose_credentials(hci::CommonOptions{}, fake_env({{"CLOUDTOWER_USERNAME", "admin"}})),
                    hci::Error);
    unlink(path);
}

TEST_CASE("a missing token file is a usage error that does not leak content") {
    hci::CommonOptions opt;
    opt.token_file = "/nonexistent/token";
    opt.token_file_from_option = true;
    try {
        hci::choose_credentials(opt, fake_env({}));
        FAIL("expected an error");
    } catch (const hci::Error& e) {
        CHECK(e.code() == hci::kExitUsage);
        CHECK(std::string(e.what()).find("/nonexistent/token") != std::string::npos);
    }
}
