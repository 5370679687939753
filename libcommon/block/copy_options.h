#pragma once
// Command-line plumbing that zadp-read and zadp-write share: the transport
// options (CHAP secret from a file or the environment, initiator IQN, queue
// depth), the source line of zadp-read, and output/terminal checks.
#include <boost/program_options.hpp>
#include <memory>
#include <string>

#include "libcommon/block/progress.h"
#include "libcommon/block/volume.h"

namespace hci {

// Fills VolumeOptions from the flags, falling back to ZADP_CHAP_SECRET and
// ZADP_INITIATOR_IQN. The secret file's first line is the secret.
VolumeOptions volume_options(const std::string& chap_secret_file, const std::string& initiator_iqn,
                             unsigned queue_depth);

// "iscsi://user%secret@host/..." -> "iscsi://user@host/...": URLs in
// headers and messages never carry a password.
std::string redact_url(const std::string& url);

// What zadp-read copies: the URL and the stream identity (JSON object with
// vm, vm_snapshot, disk, lun_snapshot, source, created, tool).
struct SourceSpec {
    std::string url;
    std::string identity;
};

// From --source URL (line empty) or a JSON line (uses export.url, else
// source, else url).
SourceSpec source_spec(const std::string& source_url, const std::string& line, const std::string& tool);

// Reads the single JSON line zadp-read takes on stdin; usage error if stdin
// is a terminal, empty or holds more than one line.
std::string read_one_line_from_stdin();

ProgressMode progress_mode(bool on, bool off);

// The flags both tools take, after their own: --progress/--no-progress, the
// iSCSI transport (--chap-secret-file, --initiator-iqn, --queue-depth), -v,
// --help and --version.
struct CopyFlags {
    std::string chap_secret_file;
    std::string initiator_iqn;
    unsigned queue_depth = 16;
    bool progress_on = false;
    bool progress_off = false;

    // Usage error (exit 2) for --progress with --no-progress.
    ProgressMode progress() const { return progress_mode(progress_on, progress_off); }
    // Reads the CHAP secret file; see volume_options().
    VolumeOptions volume() const { return volume_options(chap_secret_file, initiator_iqn, queue_depth); }
};

// Adds the shared flags to opts, bound to flags; verbose_help describes -v.
void add_copy_flags(boost::program_options::options_description& opts, CopyFlags& flags,
                    const char* verbose_help);

// Parses argv (a bad option is a usage error, exit 2) into vm, sets the
// progress switches and -v. Prints the help or "TOOL VERSION" and returns
// false when asked to; the tool then exits 0.
bool parse_copy_command_line(int argc, char** argv, const boost::program_options::options_description& opts,
                             const std::string& tool, CopyFlags& flags, boost::program_options::variables_map& vm);

// --format: true for "raw", false for "stream", usage error otherwise.
bool raw_format(const std::string& format);

// Usage error when fd is a terminal: binary data must not go to (or come from) one.
void refuse_terminal(int fd, const std::string& what);

class TempFile;

// zadp-read's -o: "-" or empty is stdout; a new or regular file is written
// under a temporary name and renamed into place by commit(); anything else
// (a device, a FIFO) is opened as it is.
class OutputFile {
public:
    explicit OutputFile(const std::string& path);
    ~OutputFile();
    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    void commit();

private:
    std::unique_ptr<TempFile> temp_;
    int fd_ = 1;
    bool own_fd_ = false;
    std::string name_ = "stdout";
};

}  // namespace hci
