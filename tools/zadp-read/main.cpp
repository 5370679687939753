// zadp-read: copies one volume (file, block device, iSCSI LUN) to stdout as a
// zadp block stream (zadp-stream(5)) or a raw image, optionally compressed.
#include "libcommon/base/error.h"
#include "libcommon/base/log.h"
#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/block/open_volume.h"

using namespace hci;

static const ToolInfo kInfo{
    "zadp-read",
    "[--source URL|- | --line JSON] [--size BYTES] [-o FILE] [--format stream|raw] [--compress zstd[:LEVEL]|lz4] [-T N]\n"
    "                 [--progress|--no-progress] [--chap-secret-file FILE] [--initiator-iqn IQN] [--queue-depth N] [-v]",
    "Copies a volume to stdout as a zadp block stream. Without --source or --line,\n"
    "reads one JSON line (hci-lun-export output) on stdin; --source - reads a raw\n"
    "image on stdin."};

static int body(int argc, char** argv) {
    po::options_description own("Options");
    own.add_options()
        ("source", po::value<std::string>()->value_name("URL"),
         "volume to read: path, file://, iscsi:// URL, repo:GROUP/TIME/FILE, or - (a raw image on stdin)")
        ("size", parsed_value<uint64_t>([](const std::string& text) { return parse_size(text, "--size"); })
                     ->value_name("BYTES"),
         "read only the first BYTES (K, M, G, T suffixes); the length of a pipe on stdin")
        ("line", po::value<std::string>()->value_name("JSON"), "JSON line whose export.url (or source, url) names the volume")
        ("output,o", po::value<std::string>()->default_value("-")->value_name("FILE"), "write to FILE instead of stdout")
        ("format", format_value(), "stream (zadp-stream(5)) or raw")
        ("compress", parsed_value<CompressSpec>(parse_compress_spec)->default_value(CompressSpec{}, "none")
                         ->value_name("zstd[:LEVEL]|lz4|none"),
         "compress the output")
        ("threads,T", po::value<int>()->default_value(0)->value_name("N"), "zstd worker threads (0 = one per CPU)");
    own.add(volume_options_description());
    auto cli = parse_command_line(argc, argv, kInfo, own);
    std::string source = cli.has("source") ? cli.get<std::string>("source") : "";
    std::string line = cli.has("line") ? cli.get<std::string>("line") : "";
    if (!source.empty() && !line.empty()) fail(kExitUsage, "give --source or --line, not both");
    CompressSpec spec = cli.get<CompressSpec>("compress");
    spec.threads = cli.get<int>("threads");
    ReadJob job;
    job.raw = raw_format(cli);
    job.progress = progress_mode(cli);
    auto options = volume_options(cli);
    if (cli.has("size")) options.size = cli.get<uint64_t>("size");

    if (source.empty() && line.empty()) line = read_one_line_from_stdin();
    SourceSpec what = source_spec(source, line, "zadp-read");
    job.identity = what.identity;
    auto volume = open_volume(what.url, OpenMode::Read, options);
    if (auto recorded = volume->identity(); !recorded.empty()) job.identity = recorded;

    OutputFile out(cli.get<std::string>("output"));
    FdSink fd_sink(out.fd(), out.name());
    auto sink = make_compressing_sink(spec, fd_sink);
    auto stats = read_volume(*volume, *sink, job);
    out.commit();
    log_info(volume->describe() + ": " + std::to_string(stats.data_bytes) + " data bytes, " +
             std::to_string(stats.zero_bytes) + " zero bytes, digest " + stream::digest_hex(stats.digest));
    return kExitOk;
}

int main(int argc, char** argv) { return run_main(argc, argv, body); }
