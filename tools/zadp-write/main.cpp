// zadp-write: restores a zadp block stream (or a raw image) from stdin into a
// volume (file, block device, iSCSI LUN); zstd and lz4 input is detected and
// decoded. --check verifies a stream without writing.
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>

#include "libcommon/compress.h"
#include "libcommon/copy.h"
#include "libcommon/copy_options.h"
#include "libcommon/error.h"
#include "libcommon/log.h"

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
    std::string target, format, input, chap_file, iqn;
    unsigned queue_depth = 16;
    po::options_description opts(kUsage);
    opts.add_options()
        ("target", po::value(&target), "volume to write: path, file:// or iscsi:// URL")
        ("format", po::value(&format)->default_value("stream"), "input is a stream (zadp-stream(5)) or raw")
        ("check", "verify the stream on stdin and print its header and statistics; write nothing")
        ("progress", "show progress on stderr")
        ("no-progress", "never show progress")
        ("chap-secret-file", po::value(&chap_file), "iSCSI CHAP secret in FILE (else $ZADP_CHAP_SECRET)")
        ("initiator-iqn", po::value(&iqn), "iSCSI initiator name (else $ZADP_INITIATOR_IQN)")
        ("queue-depth", po::value(&queue_depth), "iSCSI commands in flight (default 16)")
        ("verbose,v", "report what was written on stderr")
        ("help,h", "show this help")
        ("version", "show the version");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        hci::fail(hci::kExitUsage, std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return hci::kExitOk;
    }
    if (vm.count("version")) {
        std::cout << "zadp-write " << HCI_VERSION << "\n";
        return hci::kExitOk;
    }
    if (vm.count("verbose")) hci::set_verbose(1);
    bool check = vm.count("check");
    if (format != "stream" && format != "raw") hci::fail(hci::kExitUsage, "--format must be stream or raw");
    if (check && format == "raw") hci::fail(hci::kExitUsage, "--check verifies streams, not raw images");
    if (check && !target.empty()) hci::fail(hci::kExitUsage, "--check writes nothing; drop --target");
    if (!check && target.empty()) hci::fail(hci::kExitUsage, "--target is required (or --check)");
    auto progress = hci::progress_mode(vm.count("progress"), vm.count("no-progress"));
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
    job.raw = format == "raw";
    job.progress = progress;
    job.volume = hci::volume_options(chap_file, iqn, queue_depth);
    auto result = hci::write_volume(*in, job);
    hci::log_info(target + ": " + std::to_string(result.stats.data_bytes) + " data bytes, " +
                  std::to_string(result.stats.zero_bytes) + " zero bytes written");
    return hci::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return hci::run_main(argc, argv, run); }
