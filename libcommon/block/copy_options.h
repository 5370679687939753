#pragma once
// Command-line plumbing that zadp-read and zadp-write share: the volume
// options (CHAP secret from a file or the environment, initiator IQN, queue
// depth), --progress, --format, the source line of zadp-read, and
// output/terminal checks.
#include <memory>
#include <string>

#include "libcommon/base/cli.h"
#include "libcommon/block/progress.h"
#include "libcommon/block/volume.h"

namespace hci {

// --chap-secret-file, --initiator-iqn, --queue-depth, --progress and --no-progress.
po::options_description volume_options_description();

// VolumeOptions from those options, falling back to ZADP_CHAP_SECRET and
// ZADP_INITIATOR_IQN. The secret file is read like the token file.
VolumeOptions volume_options(const CommandLine& cli);

// --progress / --no-progress; usage error for both. Also sets the meter's
// label from --progress-label.
ProgressMode progress_mode(const CommandLine& cli);

// One meter per line: a reader whose input (fd) is a pipe or socket does
// not draw by default, because the program writing into it may draw its own
// (zadp-read does), and two meters on one terminal line take turns. Given
// --progress, it draws anyway.
ProgressMode progress_behind_pipe(ProgressMode mode, int fd);

// --format stream|raw, checked where it is parsed; raw_format() says which.
ParsedValue<std::string>* format_value();
bool raw_format(const CommandLine& cli);

// What zadp-read copies: the URL and the stream identity (JSON object with
// vm, vm_snapshot, disk, lun_snapshot, source, created, tool).
struct SourceSpec {
    std::string url;
    std::string identity;
};

// From --source URL (line empty) or a JSON line (uses export.url, else
// source, else url).
SourceSpec source_spec(const std::string& source_url, const std::string& line, const std::string& tool);

// zadp-write --line: the target URL of a JSON line, its url (hci-vm-create
// lines) or else export.url. Usage error when it has neither or is not JSON.
std::string target_url_from_line(const std::string& line);

// Reads the single JSON line zadp-read takes on stdin; usage error if stdin
// is a terminal, empty or holds more than one line.
std::string read_one_line_from_stdin();

// "4194304", "512K", "4M", "10G", "1T" (powers of 1024) -> bytes; usage
// error naming `option` otherwise.
uint64_t parse_size(const std::string& text, const std::string& option);

// zadp-write --verify-first: reads and verifies the whole stream on stdin
// (plain, zstd or lz4) and rewinds stdin, so a stream that does not verify
// never touches `target`. stdin must be a regular file (usage error).
void verify_stdin_first(ProgressMode progress, const std::string& target);

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
