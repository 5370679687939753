// zadp-read: copies one volume (file, block device, iSCSI LUN) to stdout as a
// zadp block stream (zadp-stream(5)) or a raw image, optionally compressed.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "libcommon/block/compress.h"
#include "libcommon/block/copy.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "Usage: zadp-read [--source URL | --line JSON] [-o FILE] [--format stream|raw]\n"
    "                 [--compress zstd[:LEVEL]|lz4] [-T N] [--progress|--no-progress]\n"
    "                 [--chap-secret-file FILE] [--initiator-iqn IQN] [--queue-depth N] [-v]\n"
    "Copies a volume to stdout as a zadp block stream. Without --source or --line,\n"
    "reads one JSON line (hci-lun-export output) on stdin. See zadp-read(1).\n\nOptions";

int run(int argc, char** argv) {
    std::string source, line, output, format, compress;
    int threads = 0;
    hci::CopyFlags flags;
    po::options_description opts(kUsage);
    opts.add_options()
        ("source", po::value(&source), "volume to read: path, file:// or iscsi:// URL")
        ("line", po::value(&line), "JSON line whose export.url (or source, url) names the volume")
        ("output,o", po::value(&output)->default_value("-"), "write to FILE instead of stdout")
        ("format", po::value(&format)->default_value("stream"), "stream (zadp-stream(5)) or raw")
        ("compress", po::value(&compress)->default_value("none"), "zstd, zstd:LEVEL, lz4 or none")
        ("threads,T", po::value(&threads), "zstd worker threads (0 = one per CPU)");
    hci::add_copy_flags(opts, flags, "report what was copied on stderr");
    po::variables_map vm;
    if (!hci::parse_copy_command_line(argc, argv, opts, "zadp-read", flags, vm)) return hci::kExitOk;
    if (!source.empty() && !line.empty()) hci::fail(hci::kExitUsage, "give --source or --line, not both");
    bool raw = hci::raw_format(format);
    hci::CompressSpec spec = hci::parse_compress_spec(compress);
    spec.threads = threads;
    hci::ReadJob job;
    job.raw = raw;
    job.progress = flags.progress();
    auto volume_options = flags.volume();

    if (source.empty() && line.empty()) line = hci::read_one_line_from_stdin();
    hci::SourceSpec what = hci::source_spec(source, line, "zadp-read");
    job.identity = what.identity;
    auto volume = hci::open_volume(what.url, hci::OpenMode::Read, volume_options);

    hci::OutputFile out(output);
    hci::FdSink fd_sink(out.fd(), out.name());
    auto sink = hci::make_compressing_sink(spec, fd_sink);
    auto stats = hci::read_volume(*volume, *sink, job);
    out.commit();
    hci::log_info(volume->describe() + ": " + std::to_string(stats.data_bytes) + " data bytes, " +
                  std::to_string(stats.zero_bytes) + " zero bytes, digest " + hci::stream::digest_hex(stats.digest));
    return hci::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return hci::run_main(argc, argv, run); }
