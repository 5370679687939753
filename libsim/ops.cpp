// The CloudTower operations the simulator serves.
#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "libsim/ids.h"
#include "libsim/fields.h"
#include "libsim/simulator.h"
#include "libsim/tgtd.h"
#include "libsim/volume_file.h"

namespace sim {
namespace {

json::array copies(const std::vector<const json::object*>& items) {
    json::array out;
    out.reserve(items.size());
    for (const json::object* o : items) out.push_back(*o);
    return out;
}

json::object injected_failure() {
    return {{"code", "SimInjectedFailure"}, {"message", "task failed (injected by hci-sim /_sim/faults)"}};
}

}  // namespace

json::value Simulator::op_login(const json::value& body, bool) {
    const json::object& req = request_object(body);
    std::string user = need_string(req, "username");
    auto pw = req.find("password");
    for (const auto& u : state_.view("users").items()) {
        if (u.at("username").as_string() == user && pw != req.end() && u.at("password") == pw->value()) {
            std::string token = new_uuid() + new_uuid();  // 256 random-ish bits as hex
            std::erase(token, '-');
            state_.edit("tokens").add(json::object{{"id", token}, {"user", u.at("id")}, {"created_at", iso_now()}});
            return json::object{{"task_id", nullptr}, {"data", json::object{{"token", token}}}};
        }
    }
    throw ApiError{401, "invalid username or password", ""};
}

json::value Simulator::op_get(const std::string& collection, const json::value& body) {
    return copies(apply_query(state_.view(collection).all(), request_object(body), resolver()));
}

json::value Simulator::op_get_vms(const json::value& b, bool) { return op_get("vms", b); }
json::value Simulator::op_get_vm_disks(const json::value& b, bool) { return op_get("vm_disks", b); }
json::value Simulator::op_get_vm_volumes(const json::value& b, bool) { return op_get("vm_volumes", b); }
json::value Simulator::op_get_tasks(const json::value& b, bool) { return op_get("tasks", b); }
json::value Simulator::op_get_vm_snapshots(const json::value& b, bool) { return op_get("vm_snapshots", b); }
json::value Simulator::op_get_iscsi_lun_snapshots(const json::value& b, bool) {
    return op_get("iscsi_lun_snapshots", b);
}
json::value Simulator::op_get_clusters(const json::value& b, bool) { return op_get("clusters", b); }
json::value Simulator::op_get_iscsi_targets(const json::value& b, bool) { return op_get("iscsi_targets", b); }
json::value Simulator::op_get_iscsi_luns(const json::value& b, bool) { return op_get("iscsi_luns", b); }
json::value Simulator::op_get_vm_nics(const json::value& b, bool) { return op_get("vm_nics", b); }
json::value Simulator::op_get_vlans(const json::value& b, bool) { return op_get("vlans", b); }

// Builds the VmSnapshot of `vm`; with keep, freezes every DISK volume into a
// LUN snapshot (point-in-time sparse copy) and stores everything.
json::object Simulator::snapshot_vm(const json::object& vm, const std::string& name,
                                    const std::string& consistent_type, bool keep) {
    std::string now = iso_now();
    json::array frozen;
    std::int64_t index = 0;
    for (const auto& ref : vm.at("vm_disks").as_array()) {
        const json::object* disk = state_.view("vm_disks").find(str(ref.at("id")));
        if (!disk) continue;
        json::object f{{"boot", disk->at("boot")},
                       {"bus", disk->at("bus")},
                       {"disabled", false},
                       {"disk_name", nullptr},
                       {"elf_image_local_id", ""},
                       {"image_name", nullptr},
                       {"index", index++},
                       {"key", disk->at("key")},
                       {"max_bandwidth", nullptr},
                       {"max_bandwidth_policy", nullptr},
                       {"max_iops", nullptr},
                       {"max_iops_policy", nullptr},
                       {"path", ""},
                       {"size", 0},
                       {"snapshot_local_id", nullptr},
                       {"storage_policy_uuid", ""},
                       {"svt_image_local_id", ""},
                       {"type", disk->at("type")},
                       {"vm_volume_local_id", ""},
                       {"vm_volume_snapshot_uuid", nullptr},
                       {"vm_volume_template_uuid", nullptr}};
        if (disk->at("type").as_string() == "DISK" && disk->at("vm_volume").is_object()) {
            const json::object* vol = state_.view("vm_volumes").find(str(disk->at("vm_volume").at("id")));
            json::object* lun = vol ? state_.edit("iscsi_luns").find(str(vol->at("lun").at("id"))) : nullptr;
            if (!vol || !lun) throw std::runtime_error("state is inconsistent: disk without volume or LUN");
            std::string snap_local_id = new_uuid();
            f["disk_name"] = vol->at("name");
            f["path"] = vol->at("path");
            f["size"] = vol->at("size");
            f["vm_volume_local_id"] = vol->at("local_id");
            f["snapshot_local_id"] = snap_local_id;
            f["storage_policy_uuid"] = vol->at("local_id");
            if (keep) {
                std::string lun_snap_local_id = new_uuid();
                std::string path = state_.volume_dir() + "/snap-" + lun_snap_local_id + ".img";
                std::uint64_t size = static_cast<std::uint64_t>(vol->at("size").as_int64());
                // The copy runs off the event loop (api()); what it will hold
                // is what the LUN holds now.
                queued_copies_.push_back({lun_path(*lun), path, size});
                copies_->begin(lun_path(*lun));
                std::uint64_t allocated = 0;
                for (auto [o, l] : allocated_extents(lun_path(*lun), size)) allocated += l;
                std::string id = new_cuid();
                state_.edit("iscsi_lun_snapshots")
                    .add(json::object{{"id", id},
                                      {"local_id", lun_snap_local_id},
                                      {"name", snap_local_id},
                                      {"iscsi_lun", nested(*lun)},
                                      {"iscsi_target", lun->at("iscsi_target")},
                                      {"local_created_at", now},
                                      {"unique_size", static_cast<std::int64_t>(allocated)},
                                      {"consistency_group_snapshot", nullptr},
                                      {"labels", json::array{}},
                                      {"entityAsyncStatus", nullptr}});
                state_.edit("files").add(
                    json::object{{"id", id}, {"path", path}, {"size", static_cast<std::int64_t>(size)}});
                (*lun)["snapshot_num"] = lun->at("snapshot_num").as_int64() + 1;
            }
        }
        frozen.push_back(std::move(f));
    }
    json::object snap{{"id", new_cuid()},
                      {"local_id", new_uuid()},
                      {"name", name},
                      {"cluster", vm.at("cluster")},
                      {"consistent_type", consistent_type},
                      {"clock_offset", vm.at("clock_offset")},
                      {"cpu", vm.at("cpu")},
                      {"cpu_model", vm.at("cpu_model")},
                      {"description", ""},
                      {"firmware", vm.at("firmware")},
                      {"ha", vm.at("ha")},
                      {"memory", vm.at("memory")},
                      {"size", vm.at("size")},
                      {"vcpu", vm.at("vcpu")},
                      {"win_opt", vm.at("win_opt")},
                      {"local_created_at", now},
                      {"vm", nested(vm)},
                      {"vm_disks", std::move(frozen)},
                      {"vm_nics", json::array{}},
                      {"labels", json::array{}},
                      {"io_policy", nullptr},
                      {"max_bandwidth", nullptr},
                      {"max_bandwidth_policy", nullptr},
                      {"max_iops", nullptr},
                      {"max_iops_policy", nullptr},
                      {"snapshot_group", nullptr},
                      {"entityAsyncStatus", nullptr}};
    if (keep) {
        state_.edit("vm_snapshots").add(snap);
        if (json::object* v = state_.edit("vms").find(str(vm.at("id"))))
            v->at("snapshots").as_array().push_back(nested(snap));
    }
    return snap;
}

json::value Simulator::op_create_vm_snapshot(const json::value& body, bool fail_task) {
    const json::object& req = request_object(body);
    auto data = req.find("data");
    if (data == req.end() || !data->value().is_array()) throw std::invalid_argument("data must be an array");
    // Validate the whole batch first so a bad entry creates nothing.
    for (const auto& e : data->value().get_array()) {
        if (!e.is_object()) throw std::invalid_argument("data entries must be objects");
        std::string vm_id = need_string(e.get_object(), "vm_id");
        need_string(e.get_object(), "name");
        if (!state_.view("vms").find(vm_id)) throw ApiError{404, "VM " + vm_id + " not found", ""};
        auto ct = e.get_object().find("consistent_type");
        if (ct != e.get_object().end() && !ct->value().is_null() && ct->value() != "CRASH_CONSISTENT" &&
            ct->value() != "FILE_SYSTEM_CONSISTENT")
            throw std::invalid_argument("consistent_type must be CRASH_CONSISTENT or FILE_SYSTEM_CONSISTENT");
    }
    json::array out;
    for (const auto& e : data->value().get_array()) {
        const json::object& item = e.get_object();
        json::object vm = *state_.view("vms").find(str(item.at("vm_id")));
        auto ct = item.find("consistent_type");
        std::string type = ct != item.end() && ct->value().is_string() ? str(ct->value()) : "CRASH_CONSISTENT";
        std::string code, message;
        if (fail_task) {
            json::object f = injected_failure();
            code = str(f["code"]);
            message = str(f["message"]);
        } else if (type == "FILE_SYSTEM_CONSISTENT" && vm.at("vm_tools_status") != "RUNNING") {
            code = "VmToolsNotRunning";
            message = "VM " + str(vm.at("name")) +
                      ": FILE_SYSTEM_CONSISTENT snapshot needs VMTools running (vm_tools_status is " +
                      str(vm.at("vm_tools_status")) + ")";
        }
        bool fail = !code.empty();
        json::object snap = snapshot_vm(vm, str(item.at("name")), type, !fail);
        std::string task = new_task("Create snapshot " + str(item.at("name")) + " of VM " + str(vm.at("name")),
                                    "VmSnapshot", str(snap.at("id")), "createVmSnapshot", vm.at("cluster"), fail,
                                    code, message);
        out.push_back(json::object{{"task_id", task}, {"data", std::move(snap)}});
    }
    return out;
}

void Simulator::remove_vm_snapshot(const std::string& id) {
    const json::object* snap = state_.view("vm_snapshots").find(id);
    if (!snap) return;
    std::vector<std::string> lun_snap_names;
    for (const auto& d : snap->at("vm_disks").as_array()) {
        const json::value& s = d.at("snapshot_local_id");
        if (s.is_string()) lun_snap_names.push_back(str(s));
    }
    std::string vm_id = snap->at("vm").is_object() ? str(snap->at("vm").at("id")) : "";
    std::vector<std::string> lun_snap_ids;
    for (const auto& ls : state_.view("iscsi_lun_snapshots").items()) {
        if (std::find(lun_snap_names.begin(), lun_snap_names.end(), str(ls.at("name"))) != lun_snap_names.end())
            lun_snap_ids.push_back(str(ls.at("id")));
    }
    for (const auto& lsid : lun_snap_ids) {
        if (const json::object* f = state_.view("files").find(lsid)) std::remove(str(f->at("path")).c_str());
        state_.edit("files").remove_if([&](const json::object& o) { return is(o.at("id"), lsid); });
    }
    state_.edit("iscsi_lun_snapshots").remove_if([&](const json::object& o) {
        return std::find(lun_snap_ids.begin(), lun_snap_ids.end(), str(o.at("id"))) != lun_snap_ids.end();
    });
    if (json::object* vm = state_.edit("vms").find(vm_id)) {
        erase_where(vm->at("snapshots").as_array(), [&](const json::value& s) { return is(s.at("id"), id); });
    }
    state_.edit("vm_snapshots").remove_if([&](const json::object& o) { return is(o.at("id"), id); });
}

json::value Simulator::op_delete_vm_snapshot(const json::value& body, bool fail_task) {
    const json::object& req = request_object(body);
    if (!req.contains("where") || !req.at("where").is_object())
        throw std::invalid_argument("where is required and must be an object");
    json::object query{{"where", req.at("where")}};
    json::array out;
    std::vector<json::object> matched;
    for (const json::object* s : apply_query(state_.view("vm_snapshots").all(), query, resolver()))
        matched.push_back(*s);
    for (const auto& snap : matched) {
        json::object f = injected_failure();
        std::string task = new_task("Delete VM snapshot " + str(snap.at("name")), "VmSnapshot", str(snap.at("id")),
                                    "deleteVmSnapshot", snap.at("cluster"), fail_task,
                                    fail_task ? str(f["code"]) : "", fail_task ? str(f["message"]) : "");
        if (!fail_task) remove_vm_snapshot(str(snap.at("id")));
        out.push_back(json::object{{"task_id", task}, {"data", json::object{{"id", snap.at("id")}}}});
    }
    return out;
}

}  // namespace sim
