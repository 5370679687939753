#include "libcommon/api/pipeline.h"

#include "libcommon/api/api_options.h"

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"

namespace hci {

std::optional<std::string> vm_snapshot_id_of(const json::object& line) {
    for (auto pointer : {line::kVmSnapshotId, line::kDataId, line::kId})
        if (auto id = string_field(line, pointer)) return id;
    return std::nullopt;
}

std::string line_context(const json::object& line) {
    if (auto name = string_field(line, line::kVmName)) return "vm " + *name;
    if (auto name = string_field(line, line::kName)) return *name;
    return "";
}

int for_each_batch(LineReader& in, std::size_t batch_size, bool fail_fast, RunStatus& status,
                   const BatchHandler& handle) {
    for (auto lines = in.next_batch(batch_size); !lines.empty(); lines = in.next_batch(batch_size)) {
        handle(lines, in);
        if (fail_fast && status.code() != kExitOk) break;
    }
    if (in.had_errors()) status.note(kExitPartial);
    return status.code();
}

int for_each_batch(const ApiCommandLine& cli, const BatchRunHandler& handle) {
    LineReader in(cli.input_file, cli.api.fail_fast);
    LineWriter out;
    RunStatus status;
    return for_each_batch(in, batch_size(cli), cli.api.fail_fast, status,
                          [&](const std::vector<InputLine>& batch, LineReader& reader) { handle(batch, reader, out, status); });
}

}  // namespace hci
