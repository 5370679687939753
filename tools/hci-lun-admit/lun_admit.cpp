#include "lun_admit.h"

#include <map>
#include <set>

#include "libcommon/api/initiators.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

// A change to make: these LUNs get this allowed_initiators value.
using Changes = std::map<std::string, std::vector<std::string>>;  // value -> LUN ids

// One update-iscsi-lun call per distinct value, then one wait for all tasks.
// Returns the LUN ids whose change failed.
std::set<std::string> apply(CloudTower& tower, const Changes& changes, const TaskWaitSettings& wait, bool and_wait = true) {
    std::vector<std::string> tasks;
    std::map<std::string, std::vector<std::string>> luns_of_task;
    std::set<std::string> failed;
    for (const auto& [value, ids] : changes) {
        json::array id_list;
        for (const auto& id : ids) id_list.emplace_back(id);
        json::value r = tower.mutate("update-iscsi-lun", json::object{{"where", json::object{{"id_in", id_list}}},
                                                                      {"data", json::object{{"allowed_initiators", value}}}});
        if (!r.is_array()) continue;
        for (const auto& t : r.as_array()) {
            if (!t.is_object()) continue;
            std::string task = string_field(t.as_object(), "/task_id").value_or("");
            tasks.push_back(task);
            luns_of_task[task].push_back(string_field(t.as_object(), "/data/id").value_or(""));
        }
    }
    if (!and_wait) return failed;
    for (const auto& [id, outcome] : wait_for_tasks(tower, tasks, wait)) {
        if (outcome.status == TaskOutcome::kSucceeded) continue;
        log_error("update-iscsi-lun: " + outcome.describe());
        for (const auto& lun : luns_of_task[id]) failed.insert(lun);
    }
    return failed;
}

std::string lun_of(const json::object& line) { return string_field(line, "/lun/id").value_or(""); }

void revoke(CloudTower& tower, const std::vector<InputLine>& batch, const LunAdmitOptions& options, LineReader& reader,
            LineWriter& out, RunStatus& status) {
    Changes changes;
    std::vector<const InputLine*> lines;
    for (const auto& line : batch) {
        auto previous = string_field(line.object, "/admission/previous");
        const json::value* changed = find_field(line.object, "/admission/changed");
        if (lun_of(line.object).empty() || !previous) {
            reader.reject(line.number, "no lun.id and admission.previous (not an hci-lun-admit line)");
            continue;
        }
        if (changed && changed->is_bool() && changed->as_bool()) changes[*previous].push_back(lun_of(line.object));
        lines.push_back(&line);
    }
    std::set<std::string> failed = apply(tower, changes, options.wait_settings);
    for (const auto* line : lines) {
        if (failed.count(lun_of(line->object))) {
            log_error("LUN " + lun_of(line->object) + ": allowed_initiators could not be put back to \"" +
                      *string_field(line->object, "/admission/previous") + "\"");
            status.note(kExitTaskFailed);
            continue;
        }
        json::object o = line->object;
        o.erase("admission");
        out.write(o);
    }
}

}  // namespace

void admit_batch(CloudTower& tower, const std::vector<InputLine>& batch, const LunAdmitOptions& options,
                 LineReader& reader, LineWriter& out, RunStatus& status) {
    if (options.revoke) return revoke(tower, batch, options, reader, out, status);
    std::vector<const InputLine*> lines;
    json::array ids;
    for (const auto& line : batch) {
        if (lun_of(line.object).empty()) {
            // hci-vm-create's line for a VM without data disks: nothing to admit.
            if (line.object.contains("lun") && line.object.at("lun").is_null()) {
                out.write(line.object);
                continue;
            }
            reader.reject(line.number, "no lun.id in the line (expected an hci-vm-create line)");
            continue;
        }
        lines.push_back(&line);
        ids.emplace_back(lun_of(line.object));
    }
    if (lines.empty()) return;
    std::map<std::string, std::string> current;  // LUN id -> allowed_initiators now
    for (const auto& l : tower.query_all("get-iscsi-luns", json::object{{"id_in", ids}}))
        if (l.is_object())
            current[string_field(l.as_object(), "/id").value_or("")] =
                string_field(l.as_object(), "/allowed_initiators").value_or("");
    Changes changes, undo;
    for (const auto* line : lines) {
        auto it = current.find(lun_of(line->object));
        if (it == current.end()) continue;
        std::string wanted = with_initiator(it->second, options.initiator_iqn);
        if (wanted == it->second) continue;
        changes[wanted].push_back(it->first);
        undo[it->second].push_back(it->first);
    }
    std::set<std::string> failed;
    try {
        failed = apply(tower, changes, options.wait_settings);
    } catch (const Error&) {
        log_warning(std::string(interrupted() ? "interrupted" : "failed") + ": putting allowed_initiators back on " +
                    std::to_string(undo.size()) + " group(s) of LUNs");
        try {
            // After Ctrl-C the requests are what matters; waiting would be cut short.
            apply(tower, undo, options.wait_settings, !interrupted());
        } catch (const Error& e) {
            log_error(std::string("could not put them back: ") + e.what());
        }
        throw;
    }
    for (const auto* line : lines) {
        const std::string id = lun_of(line->object);
        auto it = current.find(id);
        if (it == current.end()) {
            log_error("no iSCSI LUN with id " + id);
            status.note(kExitNotFound);
            continue;
        }
        if (failed.count(id)) {
            status.note(kExitTaskFailed);
            continue;
        }
        json::object o = line->object;
        o["admission"] = json::object{{"initiator", options.initiator_iqn},
                                      {"previous", it->second},
                                      {"changed", !iqn_whitelist_admits(it->second, options.initiator_iqn)}};
        out.write(o);
    }
}

}  // namespace hci
