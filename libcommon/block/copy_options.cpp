#include "libcommon/block/copy_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

#include "libcommon/base/error.h"
#include "libcommon/block/file_volume.h"
#include "libcommon/base/log.h"
#include "libcommon/block/stream_io.h"

namespace hci {

VolumeOptions volume_options(const std::string& chap_secret_file, const std::string& initiator_iqn,
                             unsigned queue_depth) {
    VolumeOptions o;
    if (!chap_secret_file.empty()) {
        std::ifstream in(chap_secret_file);
        if (!in) fail(kExitUsage, "cannot read --chap-secret-file " + chap_secret_file);
        std::getline(in, o.chap_secret);
        if (!o.chap_secret.empty() && o.chap_secret.back() == '\r') o.chap_secret.pop_back();
    } else if (const char* s = std::getenv("ZADP_CHAP_SECRET")) {
        o.chap_secret = s;
    }
    if (!initiator_iqn.empty())
        o.initiator_iqn = initiator_iqn;
    else if (const char* s = std::getenv("ZADP_INITIATOR_IQN"))
        o.initiator_iqn = s;
    if (queue_depth == 0 || queue_depth > 1024) fail(kExitUsage, "--queue-depth must be 1..1024");
    o.queue_depth = queue_depth;
    return o;
}

std::string redact_url(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    auto authority = scheme + 3;
    auto path = url.find('/', authority);
    auto at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
    if (at == std::string::npos || at < authority) return url;
    std::string userinfo = url.substr(authority, at - authority);
    auto sep = userinfo.find_first_of(":%");
    // iSCSI URLs write user%password; others user:password.
    if (sep == std::string::npos) return url;
    return url.substr(0, authority) + userinfo.substr(0, sep) + url.substr(at);
}

namespace {

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

const boost::json::value* field(const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

std::string url_from_line(const boost::json::object& line) {
    if (auto* e = field(line, "export"); e && e->is_object())
        if (auto* u = field(e->as_object(), "url"); u && u->is_string()) return std::string(u->as_string());
    for (const char* key : {"source", "url"})
        if (auto* u = field(line, key); u && u->is_string()) return std::string(u->as_string());
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
    for (const char* key : {"vm", "vm_snapshot", "disk", "lun_snapshot"}) {
        auto* v = field(parsed, key);
        identity[key] = v ? *v : boost::json::value(nullptr);
    }
    identity["source"] = redact_url(spec.url);
    identity["created"] = now_utc();
    identity["tool"] = tool + " " + HCI_VERSION;
    spec.identity = boost::json::serialize(identity);
    return spec;
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

ProgressMode progress_mode(bool on, bool off) {
    if (on && off) fail(kExitUsage, "--progress and --no-progress exclude each other");
    return on ? ProgressMode::kOn : off ? ProgressMode::kOff : ProgressMode::kAuto;
}

void add_copy_flags(boost::program_options::options_description& opts, CopyFlags& flags,
                    const char* verbose_help) {
    namespace po = boost::program_options;
    opts.add_options()
        ("progress", "show progress on stderr")
        ("no-progress", "never show progress")
        ("chap-secret-file", po::value(&flags.chap_secret_file), "iSCSI CHAP secret in FILE (else $ZADP_CHAP_SECRET)")
        ("initiator-iqn", po::value(&flags.initiator_iqn), "iSCSI initiator name (else $ZADP_INITIATOR_IQN)")
        ("queue-depth", po::value(&flags.queue_depth), "iSCSI commands in flight (default 16)")
        ("verbose,v", verbose_help)
        ("help,h", "show this help")
        ("version", "show the version");
}

bool parse_copy_command_line(int argc, char** argv, const boost::program_options::options_description& opts,
                             const std::string& tool, CopyFlags& flags, boost::program_options::variables_map& vm) {
    namespace po = boost::program_options;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        fail(kExitUsage, std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return false;
    }
    if (vm.count("version")) {
        std::cout << tool << " " << HCI_VERSION << "\n";
        return false;
    }
    if (vm.count("verbose")) set_verbose(1);
    flags.progress_on = vm.count("progress");
    flags.progress_off = vm.count("no-progress");
    return true;
}

bool raw_format(const std::string& format) {
    if (format != "stream" && format != "raw") fail(kExitUsage, "--format must be stream or raw");
    return format == "raw";
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
