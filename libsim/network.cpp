// The VM network side of the inventory: a VDS per cluster, its VLANs, and the
// VMs' NICs on them; and the ELF images a CD-ROM can mount.
#include <cctype>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "libsim/fields.h"
#include "libsim/ids.h"
#include "libsim/simulator.h"

namespace sim {

static bool valid_mac(const std::string& mac) {
    if (mac.size() != 17) return false;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        bool colon = i % 3 == 2;
        if (colon ? mac[i] != ':' : !std::isxdigit(static_cast<unsigned char>(mac[i]))) return false;
    }
    return true;
}

void check_nic_fields(const json::object& spec) {
    std::string mac = str_or(spec, "mac_address", "");
    if (!mac.empty() && !valid_mac(mac))
        throw std::invalid_argument("mac_address " + mac + " is not of the form 52:54:00:12:34:56");
    std::string model = str_or(spec, "model", "VIRTIO");
    if (model != "VIRTIO" && model != "E1000" && model != "SRIOV")
        throw std::invalid_argument("NIC model must be VIRTIO, E1000 or SRIOV");
}

json::object& Simulator::vds_of_cluster(const json::object& cluster, const std::string& name) {
    for (auto& v : state_.edit("vdses").items())
        if (v.at("cluster").at("id") == cluster.at("id") && is(v.at("name"), name)) return v;
    return state_.edit("vdses").add(json::object{{"id", new_cuid()},
                                                 {"local_id", new_uuid()},
                                                 {"name", name},
                                                 {"cluster", nested(cluster)},
                                                 {"ovsbr_name", "ovsbr-" + name},
                                                 {"type", "VM"}});
}

json::object& Simulator::add_vlan(const json::object& cluster, const json::object& spec) {
    std::string name = str_or(spec, "name", "");
    if (name.empty()) throw std::invalid_argument("a VLAN needs a name");
    std::int64_t vlan_id = int_or(spec, "vlan_id", 0);
    if (vlan_id < 0 || vlan_id > 4094) throw std::invalid_argument("VLAN " + name + ": vlan_id must be 0..4094");
    const json::object& vds = vds_of_cluster(cluster, str_or(spec, "vds", "vds-" + str(cluster.at("name"))));
    for (const auto& v : state_.view("vlans").items())
        if (v.at("vds").at("id") == vds.at("id") && is(v.at("name"), name))
            throw std::invalid_argument("cluster " + str(cluster.at("name")) + " has two VLANs named " + name);
    return state_.edit("vlans").add(json::object{{"id", new_cuid()},
                                                 {"local_id", new_uuid()},
                                                 {"name", name},
                                                 {"vlan_id", vlan_id},
                                                 {"type", "VM"},
                                                 {"mode_type", "VLAN_ACCESS"},
                                                 {"network_ids", json::array{}},
                                                 {"gateway_ip", nullptr},
                                                 {"gateway_subnetmask", nullptr},
                                                 {"subnetmask", nullptr},
                                                 {"qos_max_bandwidth", nullptr},
                                                 {"qos_min_bandwidth", nullptr},
                                                 {"qos_priority", nullptr},
                                                 {"vds", nested(vds)},
                                                 {"vm_nics", json::array{}},
                                                 {"labels", json::array{}},
                                                 {"entityAsyncStatus", nullptr}});
}

const json::object* Simulator::find_vlan(const std::string& cluster_id, const std::string& key) const {
    const json::object* by_name = nullptr;
    for (const auto& v : state_.view("vlans").items()) {
        const json::object* vds = state_.view("vdses").find(str(v.at("vds").at("id")));
        if (!vds || !is(vds->at("cluster").at("id"), cluster_id)) continue;
        if (is(v.at("id"), key) || is(v.at("local_id"), key)) return &v;
        if (is(v.at("name"), key) && !by_name) by_name = &v;
    }
    return by_name;
}

std::string Simulator::new_mac() {
    static std::mt19937_64 gen{std::random_device{}()};
    if (macs_.empty())  // once per run: the MACs in use (the state is the truth)
        for (const auto& n : state_.view("vm_nics").items())
            if (n.at("mac_address").is_string()) macs_.insert(str(n.at("mac_address")));
    for (;;) {
        std::uint64_t r = gen();
        char buf[18];
        std::snprintf(buf, sizeof buf, "52:54:00:%02x:%02x:%02x", unsigned(r & 0xff), unsigned((r >> 8) & 0xff),
                      unsigned((r >> 16) & 0xff));
        if (macs_.insert(buf).second) return buf;
    }
}

json::object& Simulator::add_nic(json::object& vm, const json::object& spec, std::size_t order) {
    std::string cluster_id = str(vm.at("cluster").at("id"));
    std::string vlan_key = str_or(spec, "vlan", "");
    const json::object* found = find_vlan(cluster_id, vlan_key);
    if (!found)
        throw ApiError{404, "VM " + str(vm.at("name")) + ": VLAN " + vlan_key + " not found on cluster " +
                                str(vm.at("cluster").at("name")), ""};
    check_nic_fields(spec);
    std::string mac = str_or(spec, "mac_address", "");
    if (mac.empty()) mac = new_mac();
    std::string model = str_or(spec, "model", "VIRTIO");
    auto or_null = [&](std::string_view key) {
        const json::value* v = spec.if_contains(key);
        return v && v->is_string() ? *v : json::value();
    };
    json::object nic{{"id", new_cuid()},
                     {"local_id", new_uuid()},
                     {"vm", nested(vm)},
                     {"vlan", nested(*found)},
                     {"mac_address", mac},
                     {"model", model},
                     {"enabled", bool_or(spec, "enabled", true)},
                     {"mirror", bool_or(spec, "mirror", false)},
                     {"order", static_cast<std::int64_t>(order)},
                     {"gateway", or_null("gateway")},
                     {"ip_address", or_null("ip_address")},
                     {"subnet_mask", or_null("subnet_mask")},
                     {"interface_id", nullptr},
                     {"nic", nullptr},
                     {"egress_rate_limit_burst_in_bit", nullptr},
                     {"egress_rate_limit_enabled", nullptr},
                     {"egress_rate_limit_max_rate_in_bitps", nullptr},
                     {"ingress_rate_limit_burst_in_bit", nullptr},
                     {"ingress_rate_limit_enabled", nullptr},
                     {"ingress_rate_limit_max_rate_in_bitps", nullptr}};
    json::object* vlan = state_.edit("vlans").find(str(found->at("id")));
    vlan->at("vm_nics").as_array().push_back(json::object{{"id", nic.at("id")}});
    vm.at("vm_nics").as_array().push_back(json::object{{"id", nic.at("id")}});
    return state_.edit("vm_nics").add(std::move(nic));
}

void Simulator::remove_nic(const std::string& id) {
    const json::object* nic = state_.view("vm_nics").find(id);
    if (!nic) return;
    if (json::object* vlan = state_.edit("vlans").find(str(nic->at("vlan").at("id"))))
        erase_where(vlan->at("vm_nics").as_array(), [&](const json::value& n) { return is(n.at("id"), id); });
    state_.edit("vm_nics").remove_if([&](const json::object& o) { return is(o.at("id"), id); });
}

const json::object& Simulator::elf_image(const json::object& cluster, const std::string& key, bool create) {
    for (const auto& i : state_.view("elf_images").items())
        if (i.at("cluster").at("id") == cluster.at("id") && (is(i.at("id"), key) || is(i.at("name"), key))) return i;
    if (!create) throw ApiError{404, "ELF image " + key + " not found on cluster " + str(cluster.at("name")), ""};
    return state_.edit("elf_images").add(json::object{{"id", new_cuid()},
                                                      {"local_id", new_uuid()},
                                                      {"name", key},
                                                      {"cluster", nested(cluster)}});
}

}  // namespace sim
