// zadp-write: restores a zadp block stream (or a raw image) from stdin into a
// volume (file, block device, iSCSI LUN); zstd and lz4 input is detected and
// decoded. --check verifies a stream without writing. --source repo:NAME
// restores a repository image in one process, with no stream in between.
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <iostream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/block/open_volume.h"
#include "libcommon/block/repo/repo_volume.h"

using namespace hci;

static const ToolInfo kInfo{
    "zadp-write",
    "--target URL|- | --line JSON [--source repo:NAME] [--force] [--verify-first] [--format stream|raw]\n"
    "                  [--progress|--no-progress]\n"
    "                  [--chap-secret-file FILE] [--initiator-iqn IQN] [--queue-depth N] [-v]\n"
    "       zadp-write --check",
    "Writes the zadp block stream on stdin (plain, zstd or lz4) into a volume\n"
    "(--target -: a raw image on stdout), or verifies it with --check. With\n"
    "--source repo:NAME it restores a repository image without a stream."};

// --check's report: one JSON line with the header and the statistics.
static void print_report(const WriteResult& r, const std::string& compression) {
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
    o["digest"] = stream::digest_hex(r.stats.digest);
    std::cout << boost::json::serialize(o) << std::endl;
}

// --source repo:NAME: the image straight from the repository into the
// target, in one process (copy_volume): no stream to encode and decode.
static int restore_from_source(const CommandLine& cli, const std::string& source, const std::string& target) {
    if (!is_repo_url(source))
        fail(kExitUsage, "--source takes a repository image (repo:GROUP/TIME/FILE); pipe other sources from zadp-read");
    if (is_repo_url(target)) fail(kExitUsage, "--source restores into a file, device or LUN, not into a repository");
    for (const char* option : {"check", "verify-first"})
        if (cli.has(option)) fail(kExitUsage, std::string("--") + option + " is about a stream on stdin; drop it with --source");
    if (raw_format(cli)) fail(kExitUsage, "--format raw is about stdin; drop it with --source");
    std::signal(SIGXFSZ, SIG_IGN);  // as below: EFBIG, not death, so the temporary file goes
    auto options = volume_options(cli);
    auto in = open_volume(source, OpenMode::Read, options);
    auto volume = open_volume(target, OpenMode::Write, copy_target_options(*in, options));
    auto result = copy_volume(*in, *volume, progress_mode(cli), cli.has("force"));
    log_info(target + ": " + std::to_string(result.stats.data_bytes) + " data bytes, " +
             std::to_string(result.stats.zero_bytes) + " zero bytes written, digest " +
             stream::digest_hex(result.stats.digest) + " as recorded");
    return kExitOk;
}

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("target", po::value<std::string>()->value_name("URL"),
         "volume to write: path, file://, iscsi:// URL, repo:GROUP/TIME/FILE, or - (stdout, raw)")
        ("line", po::value<std::string>()->value_name("JSON"),
         "write where a JSON line says: its url (an hci-vm-create line), else export.url")
        ("source", po::value<std::string>()->value_name("repo:NAME"),
         "restore this repository image (repo:GROUP/TIME/FILE of --repo) instead of reading stdin")
        ("force", "overwrite an existing target that holds data")
        ("verify-first", "verify the whole stream (a file on stdin) before touching the target")
        ("format", format_value(), "input is a stream (zadp-stream(5)) or raw")
        ("check", "verify the stream on stdin and print its header and statistics; write nothing")
        ("allow-shared-dir", "repo: target: write into a repository directory group or others may write "
                             "(env ZADP_REPO_ALLOW_SHARED_DIR=1)");
    own.add(volume_options_description());
    auto cli = parse_command_line(argc, argv, kInfo, own);
    std::string target = cli.has("target") ? cli.get<std::string>("target") : "";
    const std::string line = cli.has("line") ? cli.get<std::string>("line") : "";
    const bool check = cli.has("check");
    const bool raw = raw_format(cli);
    if (check && raw) fail(kExitUsage, "--check verifies streams, not raw images");
    if (check && (!target.empty() || !line.empty())) fail(kExitUsage, "--check writes nothing; drop --target/--line");
    if (!target.empty() && !line.empty()) fail(kExitUsage, "give --target or --line, not both");
    if (!line.empty()) target = target_url_from_line(line);
    if (!check && target.empty()) fail(kExitUsage, "--target or --line is required (or --check)");
    if (cli.has("source")) return restore_from_source(cli, cli.get<std::string>("source"), target);
    auto progress = progress_behind_pipe(progress_mode(cli), STDIN_FILENO);
    refuse_terminal(STDIN_FILENO, "input (pipe a stream into stdin)");
    const bool verify_first = cli.has("verify-first");
    if (verify_first && (check || raw))
        fail(kExitUsage, "--verify-first verifies a stream before writing it; drop it with --check or raw input");
    // A file size limit must fail a write with EFBIG, not kill us before we
    // can remove the temporary file.
    std::signal(SIGXFSZ, SIG_IGN);

    if (verify_first) verify_stdin_first(progress, target);
    std::string compression;
    auto in = open_decoding_source(STDIN_FILENO, "stdin", &compression);
    if (check) {
        print_report(check_stream(*in, progress), compression);
        return kExitOk;
    }
    RestoreSource source(*in, raw);
    auto options = volume_options(cli);
    options.repo_allow_shared_dir = cli.has("allow-shared-dir");
    auto volume = open_volume(target, OpenMode::Write, source.target_options(options));
    auto result = write_volume(source, *volume, progress, cli.has("force"));
    if (!result.report.empty()) std::cout << result.report << std::endl;
    log_info(target + ": " + std::to_string(result.stats.data_bytes) + " data bytes, " +
             std::to_string(result.stats.zero_bytes) + " zero bytes written");
    return kExitOk;
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
