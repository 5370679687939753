#include "snap_create.h"

#include "libcommon/api/snapshots.h"
#include "libcommon/base/error.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

// Ctrl-C while the batch's create call was in flight: the snapshots it made
// are deleted (once their create tasks have ended) and no line is written
// for them. Earlier batches were written out and belong to our reader.
void remove_batch_snapshots(CloudTower& tower, const json::array& results) {
    json::array ids;
    std::vector<std::string> tasks;
    for (const auto& r : results) {
        if (!r.is_object()) continue;
        if (auto id = string_field(r.as_object(), line::kDataId)) ids.emplace_back(*id);
        tasks.push_back(string_field(r.as_object(), line::kTaskId).value_or(""));
    }
    if (ids.empty()) return;
    log_warning("interrupted: removing the " + std::to_string(ids.size()) +
                " VM snapshot(s) of this batch once made (interrupt again to stop at once)");
    TaskWaitSettings settings;
    settings.on_interrupt = TaskWaitSettings::OnInterrupt::kIgnore;
    const std::string hint = " (find leftovers with hci-snap-delete --stale PREFIX)";
    try {
        wait_for_tasks(tower, tasks, settings);  // a snapshot being made cannot be deleted yet
        for (const auto& [id, d] : delete_vm_snapshots(tower, ids, true, settings))
            if (d.code != kExitOk && d.code != kExitNotFound) log_error("could not remove it: " + d.failure + hint);
    } catch (const Error& e) {
        log_error(std::string("could not remove them: ") + e.what() + hint);
    }
}

}  // namespace

void create_snapshots(CloudTower& tower, const std::vector<InputLine>& batch, const SnapCreateOptions& options,
                      LineReader& reader, LineWriter& out, RunStatus& status) {
    const std::time_t now = std::time(nullptr);
    json::array data;
    std::vector<json::object> vms;
    for (const auto& line : batch) {
        auto id = string_field(line.object, line::kId);
        auto name = string_field(line.object, line::kName);
        if (!id || !name) {
            reader.reject(line.number, "not a Vm line: needs \"id\" and \"name\"");
            continue;
        }
        std::string tools = string_field(line.object, line::kVmToolsStatus).value_or("");
        if (options.consistency == Consistency::kAuto && tools.empty())
            log_warning("vm " + *name + ": no vm_tools_status in the line; assuming tools are not running");
        std::string type = consistent_type_for(options.consistency, tools);
        if (options.consistency == Consistency::kAuto)
            notice("vm " + *name + ": vm_tools_status " + (tools.empty() ? "unknown" : tools) + ", using " + type);
        data.push_back(json::object{{"vm_id", *id},
                                    {"name", expand_name_template(options.name_template, *name, *id, now)},
                                    {"consistent_type", type}});
        vms.push_back(json::object{{"id", *id}, {"name", *name}});
    }
    if (data.empty()) return;
    json::value response = tower.mutate("create-vm-snapshot", json::object{{"data", data}});
    if (!response.is_array() || response.as_array().size() != vms.size())
        fail(kExitApi, "create-vm-snapshot: expected " + std::to_string(vms.size()) + " results in the response");
    auto& results = response.as_array();
    if (interrupted()) {
        remove_batch_snapshots(tower, results);
        throw Interrupted();
    }
    for (std::size_t i = 0; i < vms.size(); ++i) {
        const json::object* r = results[i].if_object();
        if (!r || !string_field(*r, line::kTaskId)) {
            log_error("vm " + std::string(vms[i]["name"].as_string()) + ": create-vm-snapshot started no task");
            status.note(kExitApi);
            continue;
        }
        json::object line;
        line["task_id"] = r->at("task_id");
        line["data"] = r->if_contains("data") ? r->at("data") : json::value(nullptr);
        line["vm"] = vms[i];
        out.write(line);
    }
}

}  // namespace hci
