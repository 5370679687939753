#include "snap_delete.h"

#include <map>
#include <set>

#include "libcommon/base/log.h"

namespace hci {
namespace {

struct Deletion {
    ExitCode code = kExitOk;
    std::string failure;  // empty when the snapshot is gone
};

// One delete-vm-snapshot call for ids (each once), then waits for its tasks.
std::map<std::string, Deletion> delete_snapshot_ids(CloudTower& tower, const json::array& ids,
                                                    const SnapDeleteOptions& options) {
    json::value response = tower.remove("delete-vm-snapshot", json::object{{"where", json::object{{"id_in", ids}}}});
    std::map<std::string, std::string> task_of;  // snapshot id -> task id ("" = none)
    if (response.is_array()) {
        for (const auto& r : response.as_array()) {
            if (!r.is_object()) continue;
            auto id = string_field(r.as_object(), line::kDataId);
            if (!id) continue;
            task_of[*id] = string_field(r.as_object(), line::kTaskId).value_or("");
        }
    }
    std::map<std::string, TaskOutcome> outcomes;
    if (options.wait) {
        std::vector<std::string> task_ids;
        for (const auto& [_, task] : task_of) task_ids.push_back(task);
        outcomes = wait_for_tasks(tower, task_ids, options.wait_settings);
    }
    std::map<std::string, Deletion> result;
    for (const auto& v : ids) {
        std::string id(v.as_string());
        auto task = task_of.find(id);
        Deletion& d = result[id];
        if (task == task_of.end()) {
            d = {kExitNotFound, "no VM snapshot with id " + id};
        } else if (auto o = outcomes.find(task->second);
                   o != outcomes.end() && o->second.status != TaskOutcome::kSucceeded) {
            d = {exit_code_for(o->second), "deleting VM snapshot " + id + ": " + o->second.describe()};
        }
    }
    return result;
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
    auto deleted = delete_snapshot_ids(tower, ids, options);
    std::set<std::string> reported;
    for (const auto& [line, id] : lines) {
        const Deletion& d = deleted[id];
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
}

void delete_stale_snapshots(CloudTower& tower, const std::string& prefix, const SnapDeleteOptions& options,
                            LineWriter& out, RunStatus& status) {
    json::array snapshots = tower.query_all("get-vm-snapshots", json::object{{"name_starts_with", prefix}});
    json::array ids;
    for (const auto& s : snapshots)
        if (auto id = string_field(s.as_object(), line::kId)) ids.emplace_back(*id);
    if (ids.empty()) return;
    auto deleted = delete_snapshot_ids(tower, ids, options);
    for (const auto& s : snapshots) {
        const Deletion& d = deleted[string_field(s.as_object(), line::kId).value_or("")];
        // Gone before we got to it (another sweep): that is what we wanted.
        if (d.code == kExitOk || d.code == kExitNotFound) {
            out.write(s);
            continue;
        }
        log_error(d.failure);
        status.note(d.code);
    }
}

}  // namespace hci
