#include "snap_create.h"

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace hci {

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
