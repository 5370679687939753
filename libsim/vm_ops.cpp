// VM life cycle: create-vm (new volumes with LUNs on the cluster's datastore
// target, CD-ROMs, NICs), delete-vm, and start/shut down (status only).
#include <algorithm>
#include <set>
#include <stdexcept>

#include "libsim/fields.h"
#include "libsim/simulator.h"

namespace sim {
namespace {

const std::set<std::string, std::less<>> kStoragePolicies = {
    "ELF_CP_REPLICA_2_THICK_PROVISION", "ELF_CP_REPLICA_2_THIN_PROVISION", "ELF_CP_REPLICA_3_THICK_PROVISION",
    "ELF_CP_REPLICA_3_THIN_PROVISION",  "REPLICA_1_THICK_PROVISION",       "REPLICA_1_THIN_PROVISION",
    "REPLICA_2_THICK_PROVISION",        "REPLICA_2_THIN_PROVISION",        "REPLICA_3_THICK_PROVISION",
    "REPLICA_3_THIN_PROVISION"};

void need_one_of(const json::object& o, std::string_view key, std::initializer_list<std::string_view> allowed,
                 const std::string& what) {
    std::string v = need_string(o, key);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
        throw std::invalid_argument(what + ": " + std::string(key) + " " + v + " is not allowed");
}

const json::array& list_or_empty(const json::object& o, std::string_view key) {
    static const json::array empty;
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return empty;
    if (!v->is_array()) throw std::invalid_argument(std::string(key) + " must be an array");
    return v->get_array();
}

json::object injected_failure() {
    return {{"code", "SimInjectedFailure"}, {"message", "task failed (injected by hci-sim /_sim/faults)"}};
}

// A disk request with where it goes: by "index" when given, else after those in request order.
struct DiskSlot {
    std::int64_t index;
    std::size_t order;
    json::object spec;
};

}  // namespace

json::object Simulator::vm_spec(const json::object& p) {
    std::string name = need_string(p, "name");
    std::string what = "create-vm " + name;
    const json::object& cluster = spec_cluster(json::object{{"cluster_id", need_string(p, "cluster_id")}});
    std::string cluster_id = str(cluster.at("id"));
    need_one_of(p, "status", {"RUNNING", "STOPPED"}, what);
    need_one_of(p, "firmware", {"BIOS", "UEFI"}, what);
    if (!p.contains("ha") || !p.at("ha").is_bool()) throw std::invalid_argument(what + ": ha is required (boolean)");
    for (const char* k : {"memory", "cpu_cores", "cpu_sockets"})
        if (int_or(p, k, 0) <= 0) throw std::invalid_argument(what + ": " + k + " is required and must be positive");
    if (std::string host = str_or(p, "host_id", ""); !host.empty())
        throw ApiError{404, what + ": host " + host + " not found (hci-sim has no hosts; leave host_id out)", ""};
    std::int64_t memory =
        int_or(p, "memory", 0) * static_cast<std::int64_t>(byte_unit(str_or(p, "memory_unit", "B"), "memory_unit"));
    json::object spec{{"name", name},
                      {"cluster_id", cluster_id},
                      {"status", p.at("status")},
                      {"firmware", p.at("firmware")},
                      {"ha", p.at("ha")},
                      {"memory", memory},
                      {"cpu_cores", p.at("cpu_cores")},
                      {"cpu_sockets", p.at("cpu_sockets")},
                      {"description", str_or(p, "description", "")}};
    if (p.contains("vcpu")) spec["vcpu"] = p.at("vcpu");
    if (p.contains("guest_os_type")) spec["guest_os_type"] = p.at("guest_os_type");

    const json::value* disks_v = p.if_contains("vm_disks");
    if (!disks_v || !disks_v->is_object()) throw std::invalid_argument(what + ": vm_disks is required (object)");
    const json::object& disks = disks_v->get_object();
    std::vector<DiskSlot> slots;
    auto slot = [&](const json::object& d, json::object spec_of_disk) {
        spec_of_disk["boot"] = int_or(d, "boot", -1);
        if (spec_of_disk.at("boot").as_int64() < 0) throw std::invalid_argument(what + ": every disk needs boot >= 0");
        slots.push_back({int_or(d, "index", 1'000'000), slots.size(), std::move(spec_of_disk)});
    };
    std::set<std::string> mounted;
    for (const auto& e : list_or_empty(disks, "mount_disks")) {
        const json::object& d = e.as_object();
        need_one_of(d, "bus", {"VIRTIO", "SCSI", "IDE"}, what);
        std::string vol_id = need_string(d, "vm_volume_id");
        const json::object* vol = state_.view("vm_volumes").find(vol_id);
        if (!vol || !is(vol->at("cluster").at("id"), cluster_id))
            throw ApiError{404, what + ": VM volume " + vol_id + " not found on cluster " + str(cluster.at("name")), ""};
        bool in_use = vol->at("vm_disks").is_array() && !vol->at("vm_disks").as_array().empty();
        if ((in_use && !vol->at("sharing").as_bool()) || !mounted.insert(vol_id).second)
            throw std::invalid_argument(what + ": VM volume " + str(vol->at("name")) + " is already mounted");
        slot(d, {{"type", "DISK"}, {"bus", d.at("bus")}, {"vm_volume_id", vol_id}});
    }
    for (const auto& e : list_or_empty(disks, "mount_new_create_disks")) {
        const json::object& d = e.as_object();
        need_one_of(d, "bus", {"VIRTIO", "SCSI", "IDE"}, what);
        const json::value* vv = d.if_contains("vm_volume");
        if (!vv || !vv->is_object()) throw std::invalid_argument(what + ": mount_new_create_disks needs vm_volume");
        const json::object& v = vv->get_object();
        std::string vol_name = need_string(v, "name");
        std::string policy = need_string(v, "elf_storage_policy");
        if (!kStoragePolicies.contains(policy))
            throw std::invalid_argument(what + ": elf_storage_policy " + policy + " is not a storage policy");
        std::int64_t size = int_or(v, "size", 0);
        std::uint64_t bytes = static_cast<std::uint64_t>(size) * byte_unit(str_or(v, "size_unit", "B"), "size_unit");
        if (size <= 0 || bytes % 512 != 0)
            throw std::invalid_argument(what + ": volume " + vol_name + " size must be a positive multiple of 512 bytes");
        slot(d, {{"type", "DISK"},
                 {"bus", d.at("bus")},
                 {"name", vol_name},
                 {"size", static_cast<std::int64_t>(bytes)},
                 {"elf_storage_policy", policy}});
    }
    for (const auto& e : list_or_empty(disks, "mount_cd_roms")) {
        const json::object& d = e.as_object();
        json::object cd{{"type", "CD_ROM"}, {"bus", "IDE"}};
        if (std::string image = str_or(d, "elf_image_id", ""); !image.empty()) {
            elf_image(cluster, image, false);  // throws when the image is not on this cluster
            cd["elf_image_id"] = image;
        }
        slot(d, std::move(cd));
    }
    std::stable_sort(slots.begin(), slots.end(), [](const DiskSlot& a, const DiskSlot& b) {
        return a.index != b.index ? a.index < b.index : a.order < b.order;
    });
    json::array disk_specs;
    for (auto& s : slots) disk_specs.push_back(std::move(s.spec));
    spec["disks"] = std::move(disk_specs);

    const json::value* nics_v = p.if_contains("vm_nics");
    if (!nics_v || !nics_v->is_array()) throw std::invalid_argument(what + ": vm_nics is required (array)");
    json::array nics;
    for (const auto& e : nics_v->get_array()) {
        const json::object& n = e.as_object();
        std::string vlan = need_string(n, "connect_vlan_id");
        if (!find_vlan(cluster_id, vlan) || is(find_vlan(cluster_id, vlan)->at("name"), vlan))  // ids only
            throw ApiError{404, what + ": VLAN " + vlan + " not found on cluster " + str(cluster.at("name")), ""};
        check_nic_fields(n);
        json::object nic = n;
        nic["vlan"] = vlan;
        nics.push_back(std::move(nic));
    }
    spec["nics"] = std::move(nics);
    return spec;
}

json::value Simulator::op_create_vm(const json::value& body, bool fail_task) {
    const json::array& items = request_entries(body);
    std::vector<json::object> specs;
    for (const auto& e : items) specs.push_back(vm_spec(e.get_object()));  // all checked before any is made
    json::array out;
    for (const auto& spec : specs) {
        json::object vm = add_vm(spec);
        std::string id = str(vm.at("id"));
        for (const auto& ref : vm.at("vm_disks").as_array()) {
            const json::object& disk = *state_.view("vm_disks").find(str(ref.at("id")));
            if (!disk.at("vm_volume").is_object()) continue;
            const json::object& vol = *state_.view("vm_volumes").find(str(disk.at("vm_volume").at("id")));
            export_lun(*state_.view("iscsi_luns").find(str(vol.at("lun").at("id"))));
        }
        json::object f = injected_failure();
        std::string task = new_task("Create VM " + str(vm.at("name")), "Vm", id, "createVm", vm.at("cluster"),
                                    fail_task, fail_task ? str(f["code"]) : "", fail_task ? str(f["message"]) : "");
        if (fail_task) remove_vm(id, true);
        out.push_back(json::object{{"task_id", task}, {"data", std::move(vm)}});
    }
    return out;
}

void Simulator::remove_vm(const std::string& id, bool include_snapshots) {
    const json::object* found = state_.view("vms").find(id);
    if (!found) return;
    json::object vm = *found;
    for (const auto& ref : vm.at("vm_disks").as_array()) {
        std::string disk_id = str(ref.at("id"));
        const json::object* disk = state_.view("vm_disks").find(disk_id);
        if (disk && disk->at("vm_volume").is_object()) {
            std::string vol_id = str(disk->at("vm_volume").at("id"));
            json::object* vol = state_.edit("vm_volumes").find(vol_id);
            if (vol) {
                erase_where(vol->at("vm_disks").as_array(), [&](const json::value& d) { return is(d.at("id"), disk_id); });
                (*vol)["mounting"] = !vol->at("vm_disks").as_array().empty();
                // A shared volume outlives the VM; a private one goes with it, LUN and data.
                if (!vol->at("sharing").as_bool()) {
                    std::string lun_id = vol->at("lun").is_object() ? str(vol->at("lun").at("id")) : "";
                    state_.edit("vm_volumes").remove_if([&](const json::object& o) { return is(o.at("id"), vol_id); });
                    if (!lun_id.empty()) remove_lun(lun_id);
                }
            }
        }
        state_.edit("vm_disks").remove_if([&](const json::object& o) { return is(o.at("id"), disk_id); });
    }
    for (const auto& ref : vm.at("vm_nics").as_array()) remove_nic(str(ref.at("id")));
    if (include_snapshots)
        for (const auto& s : vm.at("snapshots").as_array()) remove_vm_snapshot(str(s.at("id")));
    if (json::object* c = state_.edit("clusters").find(str(vm.at("cluster").at("id"))))
        (*c)["vm_num"] = std::max<std::int64_t>(0, c->at("vm_num").as_int64() - 1);
    state_.edit("vms").remove_if([&](const json::object& o) { return is(o.at("id"), id); });
}

json::value Simulator::op_delete_vm(const json::value& body, bool fail_task) {
    const json::object& req = request_object(body);
    const json::value* where = req.if_contains("where");
    if (!where || !where->is_object()) throw std::invalid_argument("where is required and must be an object");
    bool with_snapshots = false;
    if (const json::value* effect = req.if_contains("effect"); effect && effect->is_object())
        with_snapshots = bool_or(effect->get_object(), "include_snapshots", false);
    std::vector<json::object> matched;
    for (const json::object* v : apply_query(state_.view("vms").all(), json::object{{"where", *where}}, resolver()))
        matched.push_back(*v);
    json::array out;
    for (const auto& vm : matched) {
        std::string id = str(vm.at("id"));
        json::object f = injected_failure();
        std::string task = new_task("Delete VM " + str(vm.at("name")), "Vm", id, "deleteVm", vm.at("cluster"),
                                    fail_task, fail_task ? str(f["code"]) : "", fail_task ? str(f["message"]) : "");
        if (!fail_task) remove_vm(id, with_snapshots);
        out.push_back(json::object{{"task_id", task}, {"data", json::object{{"id", id}}}});
    }
    return out;
}

json::value Simulator::set_vm_status(const json::value& body, bool fail_task, const std::string& status,
                                     const std::string& mutation) {
    const json::object& req = request_object(body);
    const json::value* where = req.if_contains("where");
    if (!where || !where->is_object()) throw std::invalid_argument("where is required and must be an object");
    std::vector<std::string> ids;
    for (const json::object* v : apply_query(state_.view("vms").all(), json::object{{"where", *where}}, resolver()))
        ids.push_back(str(v->at("id")));
    json::array out;
    for (const auto& id : ids) {
        json::object& vm = *state_.edit("vms").find(id);
        json::object f = injected_failure();
        std::string task = new_task(mutation + " " + str(vm.at("name")), "Vm", id, mutation, vm.at("cluster"),
                                    fail_task, fail_task ? str(f["code"]) : "", fail_task ? str(f["message"]) : "");
        if (!fail_task) vm["status"] = status;
        out.push_back(json::object{{"task_id", task}, {"data", vm}});
    }
    return out;
}

json::value Simulator::op_start_vm(const json::value& body, bool fail_task) {
    if (const json::value* data = request_object(body).if_contains("data"); data && data->is_object())
        if (std::string host = str_or(data->get_object(), "host_id", ""); !host.empty())
            throw ApiError{404, "host " + host + " not found (hci-sim has no hosts; leave data out)", ""};
    return set_vm_status(body, fail_task, "RUNNING", "startVm");
}

json::value Simulator::op_shutdown_vm(const json::value& body, bool fail_task) {
    return set_vm_status(body, fail_task, "STOPPED", "shutDownVm");
}

}  // namespace sim
