#include "vm_full.h"

#include <algorithm>
#include <map>
#include <set>

#include "libcommon/base/json_lines.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

using ById = std::map<std::string, json::object>;

std::string id_of(const json::value& v) {
    if (!v.is_object()) return "";
    auto id = string_field(v.as_object(), "/id");
    return id.value_or("");
}

// One query (all pages) for the objects whose `id` or relation is in ids.
ById fetch(CloudTower& tower, const char* op, const char* relation, const std::set<std::string>& ids) {
    ById result;
    if (ids.empty()) return result;
    json::array list;
    for (const auto& id : ids) list.emplace_back(id);
    json::value where = relation ? json::value(json::object{{relation, json::object{{"id_in", list}}}})
                                 : json::value(json::object{{"id_in", list}});
    for (auto& item : tower.query_all(op, where))
        if (item.is_object()) result[id_of(item)] = std::move(item.as_object());
    return result;
}

json::value pick(const json::object& from, std::initializer_list<const char*> keys) {
    json::object out;
    for (const char* k : keys)
        if (auto* v = from.if_contains(k)) out[k] = *v;
    return out;
}

// The volume as a rebuild needs it: size, policy, sharing, and where it lived.
json::value volume_summary(const json::object& volume) {
    return pick(volume, {"id", "local_id", "name", "size", "elf_storage_policy", "sharing", "path", "lun"});
}

json::value vlan_summary(const json::object& vlan) {
    return pick(vlan, {"id", "local_id", "name", "vlan_id", "type", "vds"});
}

struct Related {
    ById disks, volumes, nics, vlans;
};

Related fetch_related(CloudTower& tower, const json::array& vms) {
    std::set<std::string> vm_ids;
    for (const auto& vm : vms) vm_ids.insert(id_of(vm));
    Related r;
    r.disks = fetch(tower, "get-vm-disks", "vm", vm_ids);
    r.nics = fetch(tower, "get-vm-nics", "vm", vm_ids);
    std::set<std::string> volume_ids, vlan_ids;
    for (const auto& [id, disk] : r.disks)
        if (auto* v = disk.if_contains("vm_volume"); v && v->is_object()) volume_ids.insert(id_of(*v));
    for (const auto& [id, nic] : r.nics)
        if (auto* v = nic.if_contains("vlan"); v && v->is_object()) vlan_ids.insert(id_of(*v));
    r.volumes = fetch(tower, "get-vm-volumes", nullptr, volume_ids);
    r.vlans = fetch(tower, "get-vlans", nullptr, vlan_ids);
    return r;
}

// The VM's disks in the order the VM lists them; "index" is that position,
// the same numbering as the frozen disks of a VM snapshot (disk.index in
// hci-snap-luns lines and in backup manifests).
json::array full_disks(const json::object& vm, const Related& r, std::string& missing) {
    json::array out;
    const json::value* refs = vm.if_contains("vm_disks");
    if (!refs || !refs->is_array()) return out;
    std::int64_t index = 0;
    for (const auto& ref : refs->as_array()) {
        auto disk = r.disks.find(id_of(ref));
        if (disk == r.disks.end()) {
            missing = "disk " + id_of(ref);
            return {};
        }
        json::object d = disk->second;
        d.erase("vm");
        d["index"] = index++;
        if (auto* v = d.if_contains("vm_volume"); v && v->is_object()) {
            auto volume = r.volumes.find(id_of(*v));
            if (volume == r.volumes.end()) {
                missing = "volume " + id_of(*v);
                return {};
            }
            d["vm_volume"] = volume_summary(volume->second);
        } else if (string_field(d, "/type").value_or("") == "DISK") {
            missing = "volume of disk " + id_of(ref);
            return {};
        }
        out.push_back(std::move(d));
    }
    return out;
}

// The VM's NICs in their guest order (VmNic.order, then as listed).
json::array full_nics(const json::object& vm, const Related& r, std::string& missing) {
    std::vector<json::object> nics;
    const json::value* refs = vm.if_contains("vm_nics");
    if (!refs || !refs->is_array()) return {};
    for (const auto& ref : refs->as_array()) {
        auto nic = r.nics.find(id_of(ref));
        if (nic == r.nics.end()) {
            missing = "NIC " + id_of(ref);
            return {};
        }
        json::object n = nic->second;
        n.erase("vm");
        if (auto* v = n.if_contains("vlan"); v && v->is_object()) {
            auto vlan = r.vlans.find(id_of(*v));
            if (vlan == r.vlans.end()) {
                missing = "VLAN " + id_of(*v);
                return {};
            }
            n["vlan"] = vlan_summary(vlan->second);
        }
        nics.push_back(std::move(n));
    }
    auto order = [](const json::object& n) {
        auto* o = n.if_contains("order");
        return o && o->is_number() ? o->to_number<double>() : 1e18;
    };
    std::stable_sort(nics.begin(), nics.end(), [&](const auto& a, const auto& b) { return order(a) < order(b); });
    return json::array(nics.begin(), nics.end());
}

}  // namespace

json::array resolve_full(CloudTower& tower, const json::array& vms, RunStatus& status) {
    json::array out;
    if (vms.empty()) return out;
    Related related = fetch_related(tower, vms);
    for (const auto& v : vms) {
        if (!v.is_object()) continue;
        json::object vm = v.as_object();
        std::string missing;
        json::array disks = full_disks(vm, related, missing);
        json::array nics = missing.empty() ? full_nics(vm, related, missing) : json::array{};
        if (!missing.empty()) {
            log_error("VM " + string_field(vm, "/name").value_or(id_of(v)) + ": its " + missing +
                      " vanished while it was read; try again");
            status.note(kExitNotFound);
            continue;
        }
        vm["vm_disks"] = std::move(disks);
        vm["vm_nics"] = std::move(nics);
        vm["hci_config"] = kFullConfigVersion;
        out.push_back(std::move(vm));
    }
    return out;
}

}  // namespace hci
