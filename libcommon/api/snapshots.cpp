#include "libcommon/api/snapshots.h"

#include "libcommon/base/line_fields.h"

namespace hci {

std::map<std::string, SnapshotDeletion> delete_vm_snapshots(CloudTower& tower, const json::array& ids, bool wait,
                                                            const TaskWaitSettings& settings) {
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
    if (wait) {
        std::vector<std::string> task_ids;
        for (const auto& [_, task] : task_of) task_ids.push_back(task);
        outcomes = wait_for_tasks(tower, task_ids, settings);
    }
    std::map<std::string, SnapshotDeletion> result;
    for (const auto& v : ids) {
        std::string id(v.as_string());
        auto task = task_of.find(id);
        SnapshotDeletion& d = result[id];
        if (task == task_of.end()) {
            d = {kExitNotFound, "no VM snapshot with id " + id};
        } else if (auto o = outcomes.find(task->second);
                   o != outcomes.end() && o->second.status != TaskOutcome::kSucceeded) {
            d = {exit_code_for(o->second), "deleting VM snapshot " + id + ": " + o->second.describe()};
        }
    }
    return result;
}

}  // namespace hci
