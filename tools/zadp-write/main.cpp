// zadp-write: restores a zadp block stream (or a raw image) from stdin into a
// volume (file, block device, iSCSI LUN); zstd and lz4 input is detected and
// decoded. --check verifies a stream without writing.
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>

#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "Usage: zadp-write --target URL [--format stream|raw] [--progress|--no-progress]\n"
    "                  [--chap-secret-file FILE] [--initiator-iqn IQN] [--queue-depth N] [-v]\n"
    "       zadp-write --check\n"
    "Writes the zadp block stream on stdin (plain, zstd or lz4) into a volume,\n"
    "or verifies it with --check. See zadp-write(1).\n\nOptions";

// --check's report: one JSON line with the header and the statistics.
void print_report(const hci::WriteResult& r, const std::string& compression) {
    boost::json::object o;
    o["version"] = r.header.version;
    o["flags"] = r.header.flags;
    o["size"] = r.header.size;
    o["block_size"] = r.header.block_size;
    o["identity"] = boost::json::parse(r.header.identity);
    o["compression"] = compression;
    o["data_records"] = r.stats.data_records;
    o["zero_records"] = r.stats.zero_records;
    o["data_bytes"] = r.stats.data_bytes;
    o["zero_bytes"] = r.stats.zero_bytes;
    o["digest"] = hci::stream::digest_hex(r.stats.digest);
    std::cout << boost::json::serialize(o) << std::endl;
}

int run(int argc, char** argv) {
    std::string target, format;
    hci::CopyFlags flags;
    po::options_description opts(kUsage);
    opts.add_options()
        ("target", po::value(&target), "volume to write: path, file:// or iscsi:// URL")
        ("format", po::value(&format)->default_value("stream"), "input is a stream (zadp-stream(5)) or raw")
        ("check", "verify the stream on stdin and print its header and statistics; write nothing");
    hci::add_copy_flags(opts, flags, "report what was written on stderr");
    po::variables_map vm;
    if (!hci::parse_copy_command_line(argc, argv, opts, "zadp-write", flags, vm)) return hci::kExitOk;
    bool check = vm.count("check");
    bool raw = hci::raw_format(format);
    if (check && raw) hci::fail(hci::kExitUsage, "--check verifies streams, not raw images");
    if (check && !target.empty()) hci::fail(hci::kExitUsage, "--check writes nothing; drop --target");
    if (!check && target.empty()) hci::fail(hci::kExitUsage, "--target is required (or --check)");
    auto progress = flags.progress();
    hci::refuse_terminal(STDIN_FILENO, "input (pipe a stream into stdin)");
    // A file size limit must fail a write with EFBIG, not kill us before we
    // can remove the temporary file.
    std::signal(SIGXFSZ, SIG_IGN);

    std::string compression;
    auto in = hci::open_decoding_source(STDIN_FILENO, "stdin", &compression);
    if (check) {
        print_report(hci::check_stream(*in, progress), compression);
        return hci::kExitOk;
    }
    hci::WriteJob job;
    job.target = target;
    job.raw = raw;
    job.progress = progress;
    job.volume = flags.volume();
    auto result = hci::write_volume(*in, job);
    hci::log_info(target + ": " + std::to_string(result.stats.data_bytes) + " data bytes, " +
                  std::to_string(result.stats.zero_bytes) + " zero bytes written");
    return hci::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return hci::run_main(argc, argv, run); }
