#include "snap_delete.h"

#include <map>
#include <set>

#include "libcommon/base/log.h"

namespace hci {

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

    json::value response = tower.mutate("delete-vm-snapshot", json::object{{"where", json::object{{"id_in", ids}}}});
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

    std::set<std::string> reported;
    for (const auto& [line, id] : lines) {
        auto task = task_of.find(id);
        std::string failure;
        ExitCode code = kExitOk;
        if (task == task_of.end()) {
            failure = "no VM snapshot with id " + id;
            code = kExitNotFound;
        } else if (auto o = outcomes.find(task->second); o != outcomes.end() && o->second.status != TaskOutcome::kSucceeded) {
            failure = "deleting VM snapshot " + id + ": " + o->second.describe();
            code = exit_code_for(o->second);
        }
        if (code == kExitOk) {
            out.write(line->object);
            continue;
        }
        if (reported.insert(id).second) log_error(failure);
        status.note(code);
    }
}

}  // namespace hci
