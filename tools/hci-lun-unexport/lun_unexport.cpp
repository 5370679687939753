#include "lun_unexport.h"

#include <map>
#include <set>

#include "libcommon/base/log.h"

namespace hci {
namespace {

// delete-iscsi-lun for ids; returns lun id -> how its task ended (missing = no such LUN).
std::map<std::string, TaskOutcome> delete_luns(CloudTower& tower, const json::array& ids,
                                               const TaskWaitSettings& settings) {
    json::value response = tower.remove(
        "delete-iscsi-lun",
        json::object{{"where", json::object{{"id_in", ids}}}, {"data", json::object{{"remove_snapshot", false}}}});
    std::map<std::string, std::string> task_of;
    if (response.is_array())
        for (const auto& r : response.as_array())
            if (auto id = r.is_object() ? string_field(r.as_object(), line::kDataId) : std::nullopt)
                task_of[*id] = string_field(r.as_object(), line::kTaskId).value_or("");
    std::vector<std::string> tasks;
    for (const auto& [_, t] : task_of) tasks.push_back(t);
    auto outcomes = wait_for_tasks(tower, tasks, settings);
    std::map<std::string, TaskOutcome> result;
    for (const auto& [lun, task] : task_of) {
        auto o = outcomes.find(task);
        TaskOutcome outcome;
        if (o != outcomes.end()) outcome = o->second;
        outcome.id = task.empty() ? outcome.id : task;
        result[lun] = outcome;
    }
    return result;
}

}  // namespace

void unexport_luns(CloudTower& tower, const std::vector<InputLine>& batch, const LunUnexportOptions& options,
                   LineReader& reader, LineWriter& out, RunStatus& status) {
    std::vector<std::pair<const InputLine*, std::string>> lines;
    std::set<std::string> seen;
    json::array ids;
    for (const auto& line : batch) {
        auto id = string_field(line.object, line::kExportLunId);
        if (!id) {
            reader.reject(line.number, "no export.lun.id in the line (not from hci-lun-export?)");
            continue;
        }
        lines.emplace_back(&line, *id);
        if (seen.insert(*id).second) ids.emplace_back(*id);
    }
    if (ids.empty()) return;
    auto deleted = delete_luns(tower, ids, options.wait_settings);
    std::set<std::string> reported;
    for (const auto& [line, id] : lines) {
        auto it = deleted.find(id);
        if (it == deleted.end()) {
            if (reported.insert(id).second) log_warning("iSCSI LUN " + id + " does not exist (already removed?)");
        } else if (it->second.status != TaskOutcome::kSucceeded) {
            if (reported.insert(id).second) log_error("deleting iSCSI LUN " + id + ": " + it->second.describe());
            status.note(exit_code_for(it->second));
            continue;
        }
        out.write(line->object);
    }
}

void stale_luns(CloudTower& tower, const std::string& prefix, bool remove, const LunUnexportOptions& options,
                LineWriter& out, RunStatus& status) {
    json::array luns = tower.query_all("get-iscsi-luns", json::object{{"name_starts_with", prefix}});
    if (!remove) {
        for (const auto& l : luns) out.write(l);
        return;
    }
    json::array ids;
    for (const auto& l : luns)
        if (auto id = string_field(l.as_object(), line::kId)) ids.emplace_back(*id);
    if (ids.empty()) return;
    auto deleted = delete_luns(tower, ids, options.wait_settings);
    for (const auto& l : luns) {
        std::string id = string_field(l.as_object(), line::kId).value_or("");
        auto it = deleted.find(id);
        if (it != deleted.end() && it->second.status != TaskOutcome::kSucceeded) {
            log_error("deleting iSCSI LUN " + id + ": " + it->second.describe());
            status.note(exit_code_for(it->second));
            continue;
        }
        out.write(l);
    }
}

}  // namespace hci
