#include <catch2/catch.hpp>

#include <map>

#include "libcommon/api/auth.h"
#include "libcommon/api/tasks.h"
#include "libcommon/base/cli.h"
#include "libcommon/base/error.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/copy_options.h"
#include "tools/hci-snap-create/snapshot_naming.h"

namespace {

hci::EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

const hci::ToolInfo kInfo{"hci-test", "", ""};

std::vector<char*> make_argv(std::vector<std::string>& args) {
    static std::string prog = "hci-test";
    std::vector<char*> argv{prog.data()};
    for (auto& a : args) argv.push_back(a.data());
    return argv;
}

hci::ApiCommandLine parse_cli(std::vector<std::string> args, const hci::EnvLookup& env, bool waits = false) {
    auto argv = make_argv(args);
    hci::po::options_description own;
    if (waits) own.add(hci::task_wait_options());
    return hci::parse_api_command_line(static_cast<int>(argv.size()), argv.data(), kInfo, own, env);
}

hci::ApiOptions parse(std::vector<std::string> args, const hci::EnvLookup& env) {
    return parse_cli(std::move(args), env).api;
}

}  // namespace

TEST_CASE("defaults apply when neither option nor environment is given") {
    auto c = parse({}, fake_env({}));
    CHECK(c.endpoint.empty());
    CHECK(c.request_timeout_s == 30);
    CHECK(c.retries == 5);
    CHECK_FALSE(c.insecure);
    CHECK_FALSE(c.fail_fast);
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
                    "--retries", "7", "--request-timeout", "12.5", "--fail-fast"},
                   fake_env({{"CLOUDTOWER_ENDPOINT", "https://env"}, {"CLOUDTOWER_TOKEN_FILE", "/env/token"},
                             {"CLOUDTOWER_CACERT", "/env/ca.pem"}, {"HCI_RETRIES", "2"}}));
    CHECK(c.endpoint == "https://opt");
    CHECK(c.token_file == "/opt/token");
    CHECK(c.token_file_from_option);
    CHECK(c.cacert == "/opt/ca.pem");
    CHECK(c.retries == 7);
    CHECK(c.request_timeout_s == 12.5);
    CHECK(c.fail_fast);
}

TEST_CASE("bad options are usage errors") {
    auto env = fake_env({});
    for (auto args : std::vector<std::vector<std::string>>{
             {"--no-such-option"}, {"--timeout", "abc"}, {"--request-timeout", "0"}, {"--timeout", "0"},
             {"--retries", "0"}, {"--request-timeout", "1", "--timeout", "2"}, {"one.jsonl", "two.jsonl"}}) {
        try {
            parse(args, env);
            FAIL("expected a usage error for " << args[0]);
        } catch (const hci::Error& e) {
            CHECK(e.code() == hci::kExitUsage);
        }
    }
}

TEST_CASE("an hci tool takes one input FILE; - or none is stdin") {
    auto env = fake_env({});
    auto none = parse_cli({}, env);
    CHECK(none.input_file == "-");
    CHECK_FALSE(none.input_file_given);
    CHECK_NOTHROW(none.refuse_input_file("--stale"));
    CHECK(parse_cli({"-"}, env).input_file == "-");
    auto file = parse_cli({"-v", "lines.jsonl", "--fail-fast"}, env);
    CHECK(file.input_file == "lines.jsonl");
    CHECK(file.api.fail_fast);
    CHECK_THROWS_AS(file.refuse_input_file("--stale"), hci::Error);
}

TEST_CASE("a tool that reads no input file refuses an argument") {
    std::vector<std::string> args{"stray"};
    auto argv = make_argv(args);
    hci::po::options_description own;
    try {
        hci::parse_command_line(static_cast<int>(argv.size()), argv.data(), kInfo, own, fake_env({}));
        FAIL("expected a usage error");
    } catch (const hci::Error& e) {
        CHECK(e.code() == hci::kExitUsage);
    }
}

TEST_CASE("-v counts, however it is spelled") {
    auto env = fake_env({});
    CHECK(parse_cli({}, env).verbose == 0);
    CHECK(parse_cli({"-v"}, env).verbose == 1);
    CHECK(parse_cli({"-v", "-v"}, env).verbose == 2);
    CHECK(parse_cli({"-vv"}, env).verbose == 2);
    CHECK(parse_cli({"--verbose", "-v"}, env).verbose == 2);
}

TEST_CASE("HCI_RETRIES must be a number of at least 1") {
    for (std::string bad : {"abc", "0"}) {
        try {
            parse({}, fake_env({{"HCI_RETRIES", bad}}));
            FAIL("expected a usage error for HCI_RETRIES=" << bad);
        } catch (const hci::Error& e) {
            CHECK(e.code() == hci::kExitUsage);
        }
    }
}

TEST_CASE("--timeout is the old name of --request-timeout in a tool that does not wait") {
    CHECK(parse({"--timeout", "7"}, fake_env({})).request_timeout_s == 7);
}

TEST_CASE("a waiting tool keeps single requests short whatever its --task-timeout") {
    auto cli = parse_cli({}, fake_env({}), true);
    CHECK(hci::task_wait_settings(cli).timeout_s == 1800);
    CHECK(cli.api.request_timeout_s == 60);

    cli = parse_cli({"--task-timeout", "20"}, fake_env({}), true);
    CHECK(hci::task_wait_settings(cli).timeout_s == 20);
    CHECK(cli.api.request_timeout_s == 20);

    cli = parse_cli({"--timeout", "90", "--request-timeout", "5"}, fake_env({}), true);
    CHECK(hci::task_wait_settings(cli).timeout_s == 90);  // the old spelling of --task-timeout here
    CHECK(cli.api.request_timeout_s == 5);

    CHECK_THROWS_AS(hci::task_wait_settings(parse_cli({"--timeout", "9", "--task-timeout", "8"}, fake_env({}), true)),
                    hci::Error);
}

TEST_CASE("credentials: --token-file, then CLOUDTOWER_TOKEN, then the env token file, then login") {
    char path[] = "/tmp/hci-token-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "  file-token \n", 14) == 14);
    close(fd);
    hci::ApiOptions opt;
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

    c = hci::choose_credentials(hci::ApiOptions{},
                                fake_env({{"CLOUDTOWER_USERNAME", "admin"}, {"CLOUDTOWER_PASSWORD", "pw"}}));
    CHECK(c.source == hci::Credentials::kLogin);
    CHECK(c.username == "admin");

    CHECK(hci::choose_credentials(hci::ApiOptions{}, fake_env({})).source == hci::Credentials::kNone);
    CHECK_THROWS_AS(hci::choose_credentials(hci::ApiOptions{}, fake_env({{"CLOUDTOWER_USERNAME", "admin"}})),
                    hci::Error);
    unlink(path);
}

TEST_CASE("a missing token file is a usage error that does not leak content") {
    hci::ApiOptions opt;
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

TEST_CASE("volume options: an option beats the environment, which beats the default") {
    auto parse_volume = [](std::vector<std::string> args, const hci::EnvLookup& env) {
        auto argv = make_argv(args);
        return hci::volume_options(hci::parse_command_line(static_cast<int>(argv.size()), argv.data(), kInfo,
                                                           hci::volume_options_description(), env));
    };
    auto env = fake_env({{"ZADP_CHAP_SECRET", "env-secret"}, {"ZADP_INITIATOR_IQN", "iqn.env"}});
    auto o = parse_volume({}, env);
    CHECK(o.chap_secret == "env-secret");
    CHECK(o.initiator_iqn == "iqn.env");
    CHECK(o.queue_depth == 16);

    char path[] = "/tmp/hci-chap-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, " file-secret\r\n", 14) == 14);
    close(fd);
    o = parse_volume({"--chap-secret-file", path, "--initiator-iqn", "iqn.opt", "--queue-depth", "4"}, env);
    CHECK(o.chap_secret == "file-secret");
    CHECK(o.initiator_iqn == "iqn.opt");
    CHECK(o.queue_depth == 4);
    unlink(path);

    CHECK_THROWS_AS(parse_volume({"--queue-depth", "0"}, env), hci::Error);
    CHECK_THROWS_AS(parse_volume({"--chap-secret-file", "/nonexistent/secret"}, env), hci::Error);
}

namespace {

// Parses args against `options` alone; returns the command line or the usage error's message.
hci::CommandLine parse_own(std::vector<std::string> args, const hci::po::options_description& options) {
    auto argv = make_argv(args);
    return hci::parse_command_line(static_cast<int>(argv.size()), argv.data(), kInfo, options, fake_env({}));
}

// The message of the usage error parsing args gives ("" when it parses).
std::string usage_error(std::vector<std::string> args, const hci::po::options_description& options) {
    try {
        parse_own(std::move(args), options);
    } catch (const hci::Error& e) {
        CHECK(e.code() == hci::kExitUsage);
        return e.what();
    }
    return "";
}

bool ends_with_try_help(const std::string& message) { return message.ends_with(" (try --help)"); }

}  // namespace

TEST_CASE("parsed_value turns the text into its type while parsing, and a bad value into a usage error") {
    hci::po::options_description d;
    d.add_options()
        ("consistency", hci::parsed_value<hci::Consistency>(hci::parse_consistency)
                            ->default_value(hci::Consistency::kAuto, "auto")->value_name("crash|fs|auto"), "")
        ("compress", hci::parsed_value<hci::CompressSpec>(hci::parse_compress_spec)
                         ->default_value(hci::CompressSpec{}, "none"), "");
    auto cli = parse_own({}, d);
    CHECK(cli.get<hci::Consistency>("consistency") == hci::Consistency::kAuto);
    CHECK(cli.get<hci::CompressSpec>("compress").kind == hci::CompressSpec::kNone);

    cli = parse_own({"--consistency", "fs", "--compress", "zstd:7"}, d);
    CHECK(cli.get<hci::Consistency>("consistency") == hci::Consistency::kFileSystem);
    CHECK(cli.get<hci::CompressSpec>("compress").kind == hci::CompressSpec::kZstd);
    CHECK(cli.get<hci::CompressSpec>("compress").level == 7);

    auto message = usage_error({"--consistency", "FS"}, d);
    CHECK(message == "--consistency must be crash, fs or auto, not FS (try --help)");
    message = usage_error({"--compress", "zstd:99"}, d);
    CHECK(message.starts_with("bad --compress 'zstd:99'"));
    CHECK(ends_with_try_help(message));
    CHECK(ends_with_try_help(usage_error({"--compress", "gzip"}, d)));
    CHECK(ends_with_try_help(usage_error({"--consistency"}, d)));  // a value is required
}

TEST_CASE("choice_value, non_empty_value and the number notifiers are usage errors at parse time") {
    hci::po::options_description d;
    d.add_options()
        ("format", hci::choice_value("format", {"stream", "raw"})->default_value("stream"), "")
        ("prefix", hci::non_empty_value("prefix"), "")
        ("count", hci::po::value<std::int64_t>()->notifier(hci::must_not_be_negative("count")), "")
        ("wait", hci::po::value<double>()->notifier(hci::must_be_positive("wait")), "")
        ("size", hci::parsed_value<uint64_t>([](const std::string& t) { return hci::parse_size(t, "--size"); }), "");
    auto cli = parse_own({"--format", "raw", "--prefix", "p-", "--count", "0", "--wait", "0.5", "--size", "4K"}, d);
    CHECK(cli.get<std::string>("format") == "raw");
    CHECK(cli.get<std::string>("prefix") == "p-");
    CHECK(cli.get<uint64_t>("size") == 4096);
    CHECK(parse_own({}, d).get<std::string>("format") == "stream");

    CHECK(usage_error({"--format", "tar"}, d) == "--format must be stream or raw, not tar (try --help)");
    CHECK(usage_error({"--prefix", ""}, d) == "--prefix must not be empty (try --help)");
    CHECK(usage_error({"--count", "-1"}, d) == "--count must not be negative (try --help)");
    CHECK(usage_error({"--wait", "0"}, d) == "--wait must be positive (try --help)");
    CHECK(ends_with_try_help(usage_error({"--size", "12Q"}, d)));
}

TEST_CASE("a notifier's usage error reads like a bad option too") {
    hci::po::options_description d;
    d.add_options()("n", hci::po::value<int>()->notifier([](int n) {
        if (n > 3) hci::fail(hci::kExitUsage, "--n is at most 3");
    }), "");
    CHECK(usage_error({"--n", "4"}, d) == "--n is at most 3 (try --help)");
    CHECK(parse_own({"--n", "3"}, d).get<int>("n") == 3);
}

TEST_CASE("a tool with commands: TOOL [global options] COMMAND [command options] [ARGS]") {
    bool dry_run = false;
    std::vector<hci::CommandInfo> commands{{"gc", "[--dry-run]", "collect"}, {"ls", "[PREFIX]", "list", 0, 1}};
    commands[0].options.add_options()("dry-run,n", hci::po::bool_switch(&dry_run), "");
    hci::po::options_description global("Global options");
    global.add_options()("repo", hci::po::value<std::string>(), "");
    auto parse_sub = [&](std::vector<std::string> args) {
        auto argv = make_argv(args);
        return hci::parse_subcommand_line(static_cast<int>(argv.size()), argv.data(), kInfo, global, commands,
                                          fake_env({}));
    };
    auto error_of = [&](std::vector<std::string> args) -> std::string {
        try {
            parse_sub(std::move(args));
        } catch (const hci::Error& e) {
            CHECK(e.code() == hci::kExitUsage);
            return e.what();
        }
        return "";
    };

    auto cli = parse_sub({"--repo", "/r", "ls", "web01"});
    CHECK(cli.command == "ls");
    CHECK(cli.args == std::vector<std::string>{"web01"});
    CHECK(cli.get<std::string>("repo") == "/r");

    cli = parse_sub({"gc", "-v", "--repo", "/r", "--dry-run"});  // global options after the command too
    CHECK(cli.command == "gc");
    CHECK(cli.args.empty());
    CHECK(cli.verbose == 1);
    CHECK(dry_run);
    dry_run = false;
    CHECK(parse_sub({"--dry-run", "gc"}).command == "gc");  // its option before it
    CHECK(dry_run);

    CHECK(error_of({}) == "no command: give one of gc, ls (try --help)");
    CHECK(error_of({"--repo", "/r"}) == "no command: give one of gc, ls (try --help)");  // /r is --repo's value
    CHECK(error_of({"rm"}) == "unknown command 'rm' (gc, ls) (try --help)");
    CHECK(error_of({"ls", "a", "b"}) == "usage: hci-test ls [PREFIX] (try --help)");
    CHECK(error_of({"gc", "x"}) == "usage: hci-test gc [--dry-run] (try --help)");
    CHECK(ends_with_try_help(error_of({"ls", "--dry-run"})));  // another command's option
    CHECK(ends_with_try_help(error_of({"ls", "--no-such"})));
}
