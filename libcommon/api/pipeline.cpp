#include "libcommon/api/pipeline.h"

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

}  // namespace hci
