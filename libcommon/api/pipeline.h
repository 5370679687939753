#pragma once
// Small pieces the hci-* tools share: the exit status of a run over many
// lines, the batch loop over stdin, and where a line keeps its VM snapshot id.
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/base/exit_codes.h"
#include "libcommon/base/json_lines.h"

namespace hci {

namespace json = boost::json;

// The exit code of a run that goes on after failures: the first specific
// failure wins over "some lines were malformed".
class RunStatus {
public:
    void note(ExitCode code) {
        if (code_ == kExitOk || code_ == kExitPartial) code_ = code;
    }
    int code() const { return code_; }

private:
    ExitCode code_ = kExitOk;
};

// The VM snapshot a line is about: vm_snapshot.id (hci-snap-luns lines),
// data.id (hci-snap-create / hci-task-wait lines) or id (VmSnapshot objects).
std::optional<std::string> vm_snapshot_id_of(const json::object& line);

// A short name for messages: "vm web01" when the line names its VM.
std::string line_context(const json::object& line);

// The loop of the tools that handle stdin in batches: hands each batch of up
// to batch_size lines to handle, stops after a batch that left a failure in
// status when fail_fast, and returns the run's exit code (kExitPartial when
// lines were malformed and nothing worse happened).
using BatchHandler = std::function<void(const std::vector<InputLine>& batch, LineReader& in)>;
int for_each_batch(LineReader& in, std::size_t batch_size, bool fail_fast, RunStatus& status,
                   const BatchHandler& handle);

// The same over a tool's input (its FILE or stdin) with its --batch-size and
// --fail-fast: each batch comes with the writer and status of the run.
struct ApiCommandLine;  // api_options.h
using BatchRunHandler =
    std::function<void(const std::vector<InputLine>& batch, LineReader& in, LineWriter& out, RunStatus& status)>;
int for_each_batch(const ApiCommandLine& cli, const BatchRunHandler& handle);

}  // namespace hci
