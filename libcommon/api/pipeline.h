#pragma once
// Small pieces the hci-* tools share: the exit status of a run over many
// lines, where a line keeps its VM snapshot id, and the task-wait options.
#include <boost/json.hpp>
#include <optional>
#include <string>

#include "libcommon/base/cli.h"
#include "libcommon/base/exit_codes.h"
#include "libcommon/api/tasks.h"

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

// A line on stderr that is neither an error nor a warning, shown without -v:
// for decisions the user should know about (e.g. the consistency picked).
void notice(const std::string& message);

// --interval and --max-interval for tools that wait for tasks.
void add_task_wait_options(po::options_description& d);
TaskWaitSettings task_wait_settings(const po::variables_map& vm, const CommonOptions& common);

// --batch-size N: input lines per API call.
void add_batch_option(po::options_description& d, int default_size);
std::size_t batch_size(const po::variables_map& vm);

}  // namespace hci
