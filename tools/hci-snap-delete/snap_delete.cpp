#include "snap_delete.h"

#include <map>
#include <set>

#include "libcommon/api/snapshots.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

// The deletions of a batch. A signal (Ctrl-C) meanwhile does not cut them
// short: the tasks already started are waited for, so every line's outcome
// is known and the deleted ones are written; the caller then stops.
std::map<std::string, SnapshotDeletion> delete_batch(CloudTower& tower, const json::array& ids,
                                                     const SnapDeleteOptions& options) {
    TaskWaitSettings settings = options.wait_settings;
    settings.on_interrupt = TaskWaitSettings::OnInterrupt::kFinish;
    return delete_vm_snapshots(tower, ids, options.wait, settings);
}

}  // namespace

void delete_snapshots(CloudTower& tower, const std::vector<InputLine>& batch, const SnapDeleteOptions& options,
                      LineReader& reader, LineWriter& out, RunStatus& status) {
    std::vector<std::pair<const InputLine*, std::string>> lines;
    std::set<std::string> unique_ids;
    json::array ids;
    for (const auto& line : batch) {
        auto id = vm_snapshot_id_of(line.object);
        if (!id) {
            reader.reject(line.number, "no VM snapshot id (vm_snapshot.id, data.id or id) in the line");
            continue;
        }
        lines.emplace_back(&line, *id);
        if (unique_ids.insert(*id).second) ids.emplace_back(*id);
    }
    if (ids.empty()) return;
    auto deleted = delete_batch(tower, ids, options);
    std::set<std::string> reported;
    for (const auto& [line, id] : lines) {
        const SnapshotDeletion& d = deleted[id];
        if (d.code == kExitNotFound) {
            // Deleting is idempotent: a snapshot that is gone (an earlier attempt,
            // or an earlier run, deleted it) is what the caller wants.
            if (reported.insert(id).second) log_warning("VM snapshot " + id + " does not exist (already deleted?)");
            out.write(line->object);
            continue;
        }
        if (d.code == kExitOk) {
            out.write(line->object);
            continue;
        }
        if (reported.insert(id).second) log_error(d.failure);
        status.note(d.code);
    }
    check_interrupted();  // this batch is accounted for; start no other
}

void delete_stale_snapshots(CloudTower& tower, const std::string& prefix, const SnapDeleteOptions& options,
                            LineWriter& out, RunStatus& status) {
    json::array snapshots = tower.query_all("get-vm-snapshots", json::object{{"name_starts_with", prefix}});
    json::array ids;
    for (const auto& s : snapshots)
        if (auto id = string_field(s.as_object(), line::kId)) ids.emplace_back(*id);
    if (ids.empty()) return;
    auto deleted = delete_batch(tower, ids, options);
    for (const auto& s : snapshots) {
        const SnapshotDeletion& d = deleted[string_field(s.as_object(), line::kId).value_or("")];
        // Gone before we got to it (another sweep): that is what we wanted.
        if (d.code == kExitOk || d.code == kExitNotFound) {
            out.write(s);
            continue;
        }
        log_error(d.failure);
        status.note(d.code);
    }
    check_interrupted();
}

}  // namespace hci
