#include "libcommon/block/copy_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <ctime>

#include "libcommon/base/error.h"
#include "libcommon/base/line_fields.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/iscsi_url.h"
#include "libcommon/block/temp_file.h"
#include "libcommon/base/secret_file.h"
#include "libcommon/block/stream_io.h"
#include "libcommon/base/utc_time.h"

namespace hci {

po::options_description volume_options_description() {
    po::options_description d("Volume options");
    add_progress_options(d);
    d.add_options()
        ("progress-label", po::value<std::string>()->value_name("TEXT"),
         "show TEXT before the progress meter (such as \"web01 disk 0 read\")")
        ("chap-secret-file", po::value<std::string>()->value_name("FILE"),
         "iSCSI CHAP secret in FILE (env ZADP_CHAP_SECRET)")
        ("initiator-iqn", po::value<std::string>()->value_name("IQN"), "iSCSI initiator name (env ZADP_INITIATOR_IQN)")
        ("queue-depth", po::value<unsigned>()->default_value(16)->value_name("N")->notifier([](unsigned n) {
            if (n == 0 || n > 1024) bad_option_value("--queue-depth must be 1..1024");
        }),
         "iSCSI commands in flight")
        ("repo", po::value<std::string>()->value_name("DIR"), "repository of repo:NAME volumes (env ZADP_REPO)")
        ("key-file", po::value<std::string>()->value_name("FILE"),
         "key of an encrypted repository (env ZADP_REPO_KEY_FILE)")
        ("passphrase-file", po::value<std::string>()->value_name("FILE"),
         "passphrase of an encrypted repository (env ZADP_REPO_PASSPHRASE_FILE, ZADP_REPO_PASSPHRASE)");
    return d;
}

VolumeOptions volume_options(const CommandLine& cli) {
    VolumeOptions o;
    if (cli.has("chap-secret-file"))
        o.chap_secret = read_secret_file(cli.get<std::string>("chap-secret-file"), "--chap-secret-file");
    else
        o.chap_secret = cli.env("ZADP_CHAP_SECRET").value_or("");
    o.initiator_iqn = cli.option_or_env("initiator-iqn", "ZADP_INITIATOR_IQN");
    o.queue_depth = cli.get<unsigned>("queue-depth");
    o.repo = cli.option_or_env("repo", "ZADP_REPO");
    o.repo_key_file = cli.option_or_env("key-file", "ZADP_REPO_KEY_FILE");
    o.repo_passphrase_file = cli.option_or_env("passphrase-file", "ZADP_REPO_PASSPHRASE_FILE");
    o.repo_passphrase = cli.env("ZADP_REPO_PASSPHRASE");
    return o;
}

ProgressMode progress_mode(const CommandLine& cli) {
    ProgressMode mode = progress_switch(cli);
    if (cli.has("progress-label")) set_progress_label(cli.get<std::string>("progress-label"));
    return mode;
}

ProgressMode progress_behind_pipe(ProgressMode mode, int fd) {
    struct stat st {};
    if (mode == ProgressMode::kAuto && ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return ProgressMode::kOff;
    return mode;
}

ParsedValue<std::string>* format_value() {
    return choice_value("format", {"stream", "raw"})->default_value("stream")->value_name("stream|raw");
}

bool raw_format(const CommandLine& cli) { return cli.get<std::string>("format") == "raw"; }

namespace {

std::string url_from_line(const boost::json::object& line) {
    for (auto pointer : {line::kExportUrl, line::kSource, line::kUrl})
        if (auto url = string_field(line, pointer)) return *url;
    fail(kExitUsage, "the input line has no export.url, source or url field");
}

}  // namespace

SourceSpec source_spec(const std::string& source_url, const std::string& line, const std::string& tool) {
    boost::json::object identity;
    boost::json::object parsed;
    if (!line.empty()) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (ec || !v.is_object()) fail(kExitUsage, "the input line is not a JSON object");
        parsed = v.as_object();
    }
    SourceSpec spec;
    spec.url = source_url.empty() ? url_from_line(parsed) : source_url;
    for (auto pointer : {line::kVm, line::kVmSnapshot, line::kDisk, line::kLunSnapshot}) {
        auto* v = find_field(parsed, pointer);
        identity[pointer.substr(1)] = v ? *v : boost::json::value(nullptr);
    }
    identity["source"] = redact_url(spec.url);
    identity["created"] = utc_now();
    identity["tool"] = tool + " " + HCI_VERSION;
    spec.identity = boost::json::serialize(identity);
    return spec;
}

std::string target_url_from_line(const std::string& line) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) fail(kExitUsage, "--line is not a JSON object");
    for (auto pointer : {line::kUrl, line::kExportUrl})
        if (auto url = string_field(v.as_object(), pointer)) return *url;
    fail(kExitUsage, "--line has no url or export.url to write to");
}

std::string read_one_line_from_stdin() {
    refuse_terminal(STDIN_FILENO, "stdin (give --source URL or --line JSON, or pipe one JSON line)");
    std::string all;
    char buf[65536];
    for (;;) {
        size_t n = read_fd(STDIN_FILENO, buf, sizeof buf, "stdin");
        if (n == 0) break;
        all.append(buf, n);
        if (all.size() > (16u << 20)) fail(kExitUsage, "stdin: input line too long");
    }
    auto first_end = all.find('\n');
    std::string first = all.substr(0, first_end);
    if (first_end != std::string::npos && all.find_first_not_of(" \t\r\n", first_end) != std::string::npos)
        fail(kExitUsage, "stdin holds more than one line; zadp-read copies one disk (use a loop or xargs)");
    if (first.find_first_not_of(" \t\r") == std::string::npos)
        fail(kExitUsage, "no input: give --source URL, --line JSON or one JSON line on stdin");
    return first;
}

uint64_t parse_size(const std::string& text, const std::string& option) {
    size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = used ? text.substr(used) : "";
    static const std::string kUnits = "KMGT";
    int shift = unit.empty() ? 0 : unit.size() == 1 && kUnits.find(unit[0]) != std::string::npos
                                       ? 10 * (static_cast<int>(kUnits.find(unit[0])) + 1)
                                       : -1;
    if (!used || text[0] == '-' || shift < 0 || (shift && n > (~0ull >> shift)))
        fail(kExitUsage, option + " wants a size in bytes (or with K, M, G, T), not '" + text + "'");
    return static_cast<uint64_t>(n) << shift;
}

void verify_stdin_first(ProgressMode progress, const std::string& target) {
    struct stat st {};
    if (::fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode))
        fail(kExitUsage, "--verify-first reads the stream twice: stdin must be a file (zadp-write ... < FILE)");
    off_t start = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
    try {
        auto in = open_decoding_source(STDIN_FILENO, "stdin");
        check_stream(*in, progress);
    } catch (const Error& e) {
        fail(e.code(), std::string(e.what()) + "; " + target + " was not touched");
    }
    if (::lseek(STDIN_FILENO, start, SEEK_SET) < 0) fail(kExitIo, "rewind stdin: " + errno_text(errno));
}

void refuse_terminal(int fd, const std::string& what) {
    if (::isatty(fd)) fail(kExitUsage, "refusing to use a terminal as " + what);
}

OutputFile::OutputFile(const std::string& path) {
    if (path.empty() || path == "-") {
        refuse_terminal(STDOUT_FILENO, "output for binary data (redirect stdout or use -o FILE)");
        return;
    }
    name_ = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) fail(kExitIo, "open " + path + ": " + errno_text(errno));
        own_fd_ = true;
        refuse_terminal(fd_, "output for binary data");
        return;
    }
    temp_ = std::make_unique<TempFile>(path);
    fd_ = temp_->fd();
}

OutputFile::~OutputFile() {
    if (own_fd_) ::close(fd_);
}

void OutputFile::commit() {
    if (temp_) temp_->commit();
}

}  // namespace hci
