#include "vm_plan.h"

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"

namespace hci {
namespace {

bool present(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && !v->is_null();
}

const json::array* array_at(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_array() ? &v->as_array() : nullptr;
}

bool names_vlan(const json::object& vlan, const std::string& what) {
    return !what.empty() && (text_field(vlan, "/id") == what || text_field(vlan, "/name") == what || text_field(vlan, "/local_id") == what);
}

// The placement's policy when it names one, else the recorded one.
json::value storage_policy(const json::object& volume, const Placement& placement) {
    if (!placement.storage_policy.empty()) return json::value(placement.storage_policy);
    if (present(volume, "elf_storage_policy")) return volume.at("elf_storage_policy");
    return json::value("REPLICA_2_THIN_PROVISION");
}

}  // namespace

std::pair<std::string, std::string> parse_vlan_mapping(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || text.find('=', eq + 1) != std::string::npos)
        fail(kExitUsage, "--map-vlan wants SRC=DST (VLAN names or ids), not \"" + text + "\"");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

void check_vlan_mappings(const std::vector<std::string>& texts) {
    for (const auto& text : texts) parse_vlan_mapping(text);
}

std::string expand_name(const std::string& name_template, const std::string& original, const std::string& time) {
    std::string out = name_template;
    for (auto [key, value] : {std::pair<std::string, std::string>{"{name}", original}, {"{time}", time}})
        for (auto at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
            out.replace(at, key.size(), value);
    return out;
}

std::string check_config_line(const json::object& config) {
    auto* version = config.if_contains("hci_config");
    if (!version || !version->is_number())
        return "not a configuration line (no hci_config field): make it with hci-vm-get --full";
    if (version->to_number<double>() != 1)
        return "configuration format " + json::serialize(*version) + " is newer than this tool understands (1)";
    if (text_field(config, "/name").empty()) return "the configuration has no name";
    for (const char* key : {"vcpu", "memory"})
        if (!present(config, key) || !config.at(key).is_number()) return std::string("the configuration has no numeric ") + key;
    const json::array* disks = array_at(config, "vm_disks");
    const json::array* nics = array_at(config, "vm_nics");
    if (!disks || !nics) return "the configuration has no vm_disks or vm_nics list";
    for (const auto& d : *disks) {
        if (!d.is_object() || !present(d.as_object(), "type") || !present(d.as_object(), "bus") ||
            !find_field(d.as_object(), "/boot") || !d.as_object().at("boot").is_number())
            return "a disk has no type, bus or boot (was the line made with hci-vm-get --full?)";
        const json::object& disk = d.as_object();
        if (text_field(disk, "/type") == "DISK") {
            auto* size = find_field(disk, "/vm_volume/size");
            if (!size || !size->is_number() || size->to_number<double>() <= 0)
                return "disk " + (present(disk, "index") ? json::serialize(disk.at("index")) : "?") + " has no volume size";
        }
    }
    for (const auto& n : *nics)
        if (!n.is_object() || !find_field(n.as_object(), "/vlan/id"))
            return "a NIC has no resolved VLAN (was the line made with hci-vm-get --full?)";
    return "";
}

std::optional<std::string> choose_vlan(const json::object& source_vlan, const VlanMap& map,
                                       const TargetVlans& target, std::string& error) {
    const std::string source = text_field(source_vlan, "/name") + " (id " + text_field(source_vlan, "/id") + ")";
    for (const auto& [from, to] : map) {
        if (!names_vlan(source_vlan, from)) continue;
        std::vector<const json::object*> hits;
        for (const auto& v : target.vlans)
            if (names_vlan(v, to)) hits.push_back(&v);
        if (hits.size() == 1) return text_field(*hits[0], "/id");
        error = "--map-vlan " + from + "=" + to + ": " +
                (hits.empty() ? "the target cluster has no VLAN named (or with id) " + to
                              : std::to_string(hits.size()) + " VLANs on the target cluster are named " + to +
                                    "; give the id");
        return std::nullopt;
    }
    for (const auto& v : target.vlans)
        if (text_field(v, "/id") == text_field(source_vlan, "/id")) return text_field(v, "/id");
    std::vector<const json::object*> same_name;
    for (const auto& v : target.vlans)
        if (text_field(v, "/name") == text_field(source_vlan, "/name")) same_name.push_back(&v);
    if (same_name.size() == 1) return text_field(*same_name[0], "/id");
    error = same_name.empty()
                ? "VLAN " + source + " is not on the target cluster; map it with --map-vlan " +
                      text_field(source_vlan, "/name") + "=VLAN"
                : std::to_string(same_name.size()) + " VLANs on the target cluster are named " +
                      text_field(source_vlan, "/name") + "; choose one with --map-vlan " + text_field(source_vlan, "/name") + "=ID";
    return std::nullopt;
}

std::string new_volume_name(const std::string& vm_name, long index) {
    return vm_name + "-disk" + std::to_string(index);
}

json::object creation_params(const json::object& config, const Placement& placement) {
    const std::int64_t vcpu = find_field(config, "/vcpu")->to_number<std::int64_t>();
    auto number_or = [&](std::string_view pointer, std::int64_t fallback) {
        auto* v = find_field(config, pointer);
        return v && v->is_number() ? v->to_number<std::int64_t>() : fallback;
    };
    const std::int64_t sockets = number_or("/cpu/sockets", 1);
    json::object p{{"name", placement.name},
                   {"cluster_id", placement.cluster_id},
                   {"vcpu", vcpu},
                   {"cpu_sockets", sockets},
                   {"cpu_cores", number_or("/cpu/cores", sockets > 0 ? vcpu / sockets : vcpu)},
                   {"memory", config.at("memory")},
                   {"memory_unit", "B"},
                   {"firmware", present(config, "firmware") ? config.at("firmware") : json::value("BIOS")},
                   {"ha", present(config, "ha") ? config.at("ha") : json::value(false)},
                   {"status", "STOPPED"}};
    if (!placement.host_id.empty()) p["host_id"] = placement.host_id;
    for (const char* key : {"guest_os_type", "description"})
        if (present(config, key)) p[key] = config.at(key);

    json::array new_disks, cd_roms;
    for (const auto& d : config.at("vm_disks").as_array()) {
        const json::object& disk = d.as_object();
        const std::int64_t boot = disk.at("boot").to_number<std::int64_t>();
        // The original position, so disks and CD-ROMs come back in their order.
        const long index = present(disk, "index") ? disk.at("index").to_number<long>() : 0;
        if (text_field(disk, "/type") == "CD_ROM") {
            cd_roms.push_back(json::object{{"index", index}, {"boot", boot}});
            continue;
        }
        const json::object& volume = disk.at("vm_volume").as_object();
        new_disks.push_back(json::object{
            {"index", index},
            {"bus", disk.at("bus")},
            {"boot", boot},
            {"vm_volume", json::object{{"name", new_volume_name(placement.name, index)},
                                       {"size", volume.at("size")},
                                       {"size_unit", "B"},
                                       {"elf_storage_policy", storage_policy(volume, placement)}}}});
    }
    p["vm_disks"] = json::object{{"mount_new_create_disks", std::move(new_disks)}, {"mount_cd_roms", std::move(cd_roms)}};

    json::array nics;
    std::size_t i = 0;
    for (const auto& n : config.at("vm_nics").as_array()) {
        const json::object& nic = n.as_object();
        json::object params{{"connect_vlan_id", placement.nic_vlan_ids.at(i++)}};
        for (const char* key : {"model", "enabled", "mirror"})
            if (present(nic, key)) params[key] = nic.at(key);
        if (placement.keep_mac && present(nic, "mac_address")) params["mac_address"] = nic.at("mac_address");
        nics.push_back(std::move(params));
    }
    p["vm_nics"] = std::move(nics);
    return p;
}

}  // namespace hci
