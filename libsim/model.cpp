// Building the simulated inventory: clusters, VMs with disks, volumes and the
// LUNs behind them, iSCSI targets; and the scenario file that describes them.
#include <stdexcept>

#include "libsim/ids.h"
#include "libsim/fields.h"
#include "libsim/simulator.h"
#include "libsim/tgtd.h"
#include "libsim/volume_file.h"

namespace sim {

const json::object& Simulator::cluster_by_name(const std::string& name) {
    for (const auto& c : state_.view("clusters").items()) {
        if (c.at("name").as_string() == name) return c;
    }
    throw std::invalid_argument("scenario names an unknown cluster: " + name);
}

json::object& Simulator::add_cluster(const json::object& spec) {
    std::string name = str_or(spec, "name", "c1");
    json::object c{
        {"id", new_cuid()},
        {"local_id", new_uuid()},
        {"name", name},
        {"architecture", "X86_64"},
        {"connect_state", "CONNECTED"},
        {"dns", json::array{}},
        {"ip", "127.0.0.1"},
        {"ntp_servers", json::array{}},
        {"recommended_cpu_models", json::array{}},
        {"total_cpu_models", json::array{}},
        {"type", "SMTX_OS"},
        {"version", "6.1.0"},
        {"iscsi_vip", nullptr},
        {"management_vip", nullptr},
        {"host_num", 3},
        {"vm_num", 0},
        {"labels", json::array{}},
        {"entityAsyncStatus", nullptr},
    };
    json::object& cluster = state_.edit("clusters").add(std::move(c));
    json::array vlans{json::object{{"name", "default"}, {"vlan_id", 0}}};
    if (const json::value* v = spec.if_contains("vlans")) vlans = v->as_array();
    for (const auto& v : vlans) add_vlan(cluster, v.as_object());
    return *state_.edit("clusters").find(str(cluster.at("id")));
}

json::object& Simulator::internal_target(const std::string& cluster_id) {
    for (auto& t : state_.edit("iscsi_targets").items()) {
        if (t.at("internal").as_bool() && t.at("cluster").at("id").as_string() == cluster_id) return t;
    }
    const json::object* cluster = state_.view("clusters").find(cluster_id);
    json::object spec{{"name", "zbs-iscsi-datastore-" + std::string(cluster->at("name").as_string())},
                      {"cluster", cluster->at("name")},
                      {"internal", true},
                      {"iqn_whitelist", ""}};
    json::object& target = add_target(spec);
    // Served from the start, admitting nobody until a LUN allows someone.
    if (tgtd_ && tgtd_->running()) tgtd_->add_target(str(target.at("iqn_name")), "", {});
    return target;
}

json::object& Simulator::add_target(const json::object& spec) {
    std::string name = str_or(spec, "name", "");
    if (name.empty()) throw std::invalid_argument("an iSCSI target needs a name");
    const json::object& cluster = cluster_by_name(str_or(spec, "cluster", ""));
    json::array chaps;
    if (auto it = spec.find("initiator_chaps"); it != spec.end() && it->value().is_array()) {
        for (const auto& c : it->value().get_array()) {
            const json::object& o = c.as_object();
            chaps.push_back(json::object{{"initiator_iqn", str_or(o, "initiator_iqn", "")},
                                         {"chap_name", str_or(o, "chap_name", "")},
                                         {"chap_secret", str_or(o, "chap_secret", "")}});
        }
    }
    bool chap = bool_or(spec, "chap_enabled", false);
    json::object t{
        {"id", new_cuid()},
        {"local_id", new_uuid()},
        {"name", name},
        {"cluster", nested(cluster)},
        {"chap_enabled", chap},
        {"chap_name", spec.contains("chap_name") ? json::value(str_or(spec, "chap_name", "")) : json::value()},
        {"chap_secret", spec.contains("chap_secret") ? json::value(str_or(spec, "chap_secret", "")) : json::value()},
        {"description", str_or(spec, "description", "")},
        {"external_use", !bool_or(spec, "internal", false)},
        {"internal", bool_or(spec, "internal", false)},
        {"ip_whitelist", str_or(spec, "ip_whitelist", "*/*")},
        {"iqn_name", str_or(spec, "iqn_name", kIqnPrefix + name)},
        {"iqn_whitelist", str_or(spec, "iqn_whitelist", "*")},
        {"initiator_chaps", std::move(chaps)},
        {"luns", json::array{}},
        {"replica_num", 2},
        {"stripe_num", 4},
        {"stripe_size", 262144},
        {"thin_provision", true},
        {"labels", json::array{}},
        {"entityAsyncStatus", nullptr},
    };
    return state_.edit("iscsi_targets").add(std::move(t));
}

std::string Simulator::lun_path(const json::object& lun) const {
    return state_.volume_dir() + "/lun-" + std::string(lun.at("local_id").as_string()) + ".img";
}

json::object& Simulator::add_lun(const std::string& target_id, const std::string& name, std::uint64_t size) {
    json::object* target = state_.edit("iscsi_targets").find(target_id);
    if (!target) throw ApiError{404, "iSCSI target " + target_id + " not found", ""};
    // LUN ids grow per target; the highest is found once, then remembered.
    auto [next, fresh] = next_lun_id_.try_emplace(target_id, 1);
    if (fresh) {
        for (const auto& l : state_.view("iscsi_luns").items()) {
            if (l.at("iscsi_target").at("id") == target->at("id"))
                next->second = std::max<std::int64_t>(next->second, l.at("lun_id").as_int64() + 1);
        }
    }
    std::int64_t lun_id = next->second++;
    std::string local_id = new_uuid();
    json::object lun{{"id", new_cuid()},
                     {"local_id", local_id},
                     {"name", name},
                     {"lun_id", lun_id},
                     {"iscsi_target", nested(*target)},
                     {"assigned_size", static_cast<std::int64_t>(size)},
                     {"allowed_initiators", ""},
                     {"io_size", 0},
                     {"local_created_at", iso_now()},
                     {"replica_num", 2},
                     {"shared_size", 0},
                     {"snapshot_num", 0},
                     {"stripe_num", 4},
                     {"stripe_size", 262144},
                     {"thin_provision", true},
                     {"unique_size", 0},
                     {"zbs_volume_id", local_id},
                     {"consistency_group", nullptr},
                     {"labels", json::array{}},
                     {"entityAsyncStatus", nullptr}};
    for (const char* k : {"bps", "bps_max", "bps_max_length", "bps_rd", "bps_rd_max", "bps_rd_max_length", "bps_wr",
                          "bps_wr_max", "bps_wr_max_length", "iops", "iops_max", "iops_max_length", "iops_rd",
                          "iops_rd_max", "iops_rd_max_length", "iops_wr", "iops_wr_max", "iops_wr_max_length"})
        lun[k] = 0;
    target->at("luns").as_array().push_back(nested(lun));
    std::string path = lun_path(lun);
    state_.edit("files").add(json::object{{"id", lun.at("id")}, {"path", path}, {"size", static_cast<std::int64_t>(size)}});
    return state_.edit("iscsi_luns").add(std::move(lun));
}

json::object& Simulator::add_volume(const json::object& cluster, const json::object& spec, std::size_t index,
                                    const std::string& disk_id) {
    std::int64_t size = int_or(spec, "size", 1 << 30);
    if (size <= 0 || size % 512 != 0) throw std::invalid_argument("disk size must be a positive multiple of 512");
    std::string policy = str_or(spec, "elf_storage_policy", "REPLICA_2_THIN_PROVISION");
    std::string name = str_or(spec, "name", str_or(spec, "vm_name", "vm") + "-disk" + std::to_string(index));
    json::object& target = internal_target(str(cluster.at("id")));
    json::object& lun = add_lun(str(target.at("id")), name, static_cast<std::uint64_t>(size));
    // The storage policy decides the LUN's replicas and provisioning, as ZBS does.
    lun["replica_num"] = policy.find("REPLICA_3") != std::string::npos ? 3 : policy.find("REPLICA_1") != std::string::npos ? 1 : 2;
    lun["thin_provision"] = policy.find("THIN") != std::string::npos;
    lun["allowed_initiators"] = str_or(spec, "allowed_initiators", "");
    json::object vol{{"id", new_cuid()},
                     {"local_id", new_uuid()},
                     {"name", name},
                     {"cluster", nested(cluster)},
                     {"description", nullptr},
                     {"elf_storage_policy", policy},
                     {"guest_size_usage", nullptr},
                     {"guest_used_size", nullptr},
                     {"local_created_at", iso_now()},
                     {"lun", nested(lun)},
                     {"mounting", !disk_id.empty()},
                     {"path", str(target.at("iqn_name")) + "/" + std::to_string(lun.at("lun_id").as_int64())},
                     {"sharing", bool_or(spec, "sharing", false)},
                     {"size", size},
                     {"type", nullptr},
                     {"unique_size", 0},
                     {"vm_disks", disk_id.empty() ? json::array{} : json::array{json::object{{"id", disk_id}}}},
                     {"labels", json::array{}},
                     {"entityAsyncStatus", nullptr}};
    return state_.edit("vm_volumes").add(std::move(vol));
}

json::object& Simulator::add_disk(json::object& vm, const json::object& spec, std::size_t index) {
    std::string type = str_or(spec, "type", "DISK");
    if (type != "DISK" && type != "CD_ROM") throw std::invalid_argument("disk type must be DISK or CD_ROM");
    std::string bus = str_or(spec, "bus", type == "DISK" ? "VIRTIO" : "IDE");
    if (bus != "VIRTIO" && bus != "SCSI" && bus != "IDE") throw std::invalid_argument("bus must be VIRTIO, SCSI or IDE");
    json::object disk{{"id", new_cuid()},
                      {"boot", int_or(spec, "boot", static_cast<std::int64_t>(index))},
                      {"bus", bus},
                      {"type", type},
                      {"vm", nested(vm)},
                      {"vm_volume", nullptr},
                      {"key", static_cast<std::int64_t>(index)},
                      {"device", nullptr},
                      {"disabled", false},
                      {"serial", nullptr},
                      {"elf_image", nullptr},
                      {"svt_image", nullptr},
                      {"cloud_init_image_name", nullptr},
                      {"cloud_init_image_path", nullptr},
                      {"unsafe_image_path", nullptr},
                      {"unsafe_image_uuid", nullptr},
                      {"unsafe_provision", nullptr},
                      {"max_bandwidth", nullptr},
                      {"max_bandwidth_policy", nullptr},
                      {"max_iops", nullptr},
                      {"max_iops_policy", nullptr}};
    const json::object& cluster = *state_.view("clusters").find(str(vm.at("cluster").at("id")));
    if (type == "DISK") {
        json::object* vol = nullptr;
        if (std::string existing = str_or(spec, "vm_volume_id", ""); !existing.empty()) {
            vol = state_.edit("vm_volumes").find(existing);  // checked by the caller
            vol->at("vm_disks").as_array().push_back(json::object{{"id", disk.at("id")}});
            (*vol)["mounting"] = true;
        } else {
            json::object named = spec;
            named["vm_name"] = vm.at("name");
            vol = &add_volume(cluster, named, index, str(disk.at("id")));
        }
        disk["vm_volume"] = nested(*vol);
        // "data": disk-write requests that fill the volume (see SCENARIO).
        if (auto data = spec.find("data"); data != spec.end()) {
            const json::object& lun = *state_.view("iscsi_luns").find(str(vol->at("lun").at("id")));
            Volume target{lun_path(lun), static_cast<std::uint64_t>(vol->at("size").as_int64())};
            for (const auto& w : data->value().as_array()) write_disk(target, w.as_object());
        }
        disk["device"] = (bus == "VIRTIO" ? "vd" : "sd") + std::string(1, char('a' + index % 26));
    } else {
        disk["device"] = "hd" + std::string(1, char('a' + index % 26));
        if (std::string image = str_or(spec, "elf_image", ""); !image.empty())
            disk["elf_image"] = nested(elf_image(cluster, image, true));
        else if (std::string image_id = str_or(spec, "elf_image_id", ""); !image_id.empty())
            disk["elf_image"] = nested(elf_image(cluster, image_id, false));
    }
    vm.at("vm_disks").as_array().push_back(json::object{{"id", disk.at("id")}});
    return state_.edit("vm_disks").add(std::move(disk));
}

const json::object& Simulator::spec_cluster(const json::object& spec) {
    if (std::string id = str_or(spec, "cluster_id", ""); !id.empty()) {
        if (const json::object* c = state_.view("clusters").find(id)) return *c;
        throw ApiError{404, "cluster " + id + " not found", ""};
    }
    return cluster_by_name(str_or(spec, "cluster", ""));
}

json::object& Simulator::add_vm(const json::object& spec) {
    std::string name = str_or(spec, "name", "");
    if (name.empty()) throw std::invalid_argument("a VM needs a name");
    const json::object& cluster = spec_cluster(spec);
    std::int64_t sockets = int_or(spec, "cpu_sockets", 1);
    std::int64_t cores = int_or(spec, "cpu_cores", int_or(spec, "vcpu", 2) / (sockets > 0 ? sockets : 1));
    std::int64_t vcpu = int_or(spec, "vcpu", cores * sockets);
    auto string_or_null = [&](std::string_view key) {
        const json::value* v = spec.if_contains(key);
        return v && v->is_string() ? *v : json::value();
    };
    json::object vm{{"id", new_cuid()},
                    {"local_id", new_uuid()},
                    {"name", name},
                    {"cluster", nested(cluster)},
                    {"vcpu", vcpu},
                    {"cpu", json::object{{"cores", cores}, {"sockets", sockets}}},
                    {"memory", int_or(spec, "memory", std::int64_t(4) << 30)},
                    {"status", str_or(spec, "status", "RUNNING")},
                    {"vm_tools_status", str_or(spec, "vm_tools_status", "NOT_INSTALLED")},
                    {"vm_tools_version", nullptr},
                    {"clock_offset", "UTC"},
                    {"cpu_model", "cluster_default"},
                    {"description", str_or(spec, "description", "")},
                    {"firmware", str_or(spec, "firmware", "BIOS")},
                    {"ha", bool_or(spec, "ha", true)},
                    {"in_recycle_bin", false},
                    {"internal", false},
                    {"ips", str_or(spec, "ips", "")},
                    {"nested_virtualization", false},
                    {"node_ip", "127.0.0.1"},
                    {"out_uninstall_usb", json::array{}},
                    {"protected", false},
                    {"win_opt", false},
                    {"local_created_at", iso_now()},
                    {"guest_os_type", string_or_null("guest_os_type")},
                    {"os", nullptr},
                    {"hostname", nullptr},
                    {"host", nullptr},
                    {"folder", nullptr},
                    {"deleted_at", nullptr},
                    {"size", 0},
                    {"provisioned_size", 0},
                    {"logical_size_bytes", 0},
                    {"vm_disks", json::array{}},
                    {"vm_nics", json::array{}},
                    {"snapshots", json::array{}},
                    {"labels", json::array{}},
                    {"entityAsyncStatus", nullptr}};
    std::int64_t total = 0;
    if (const json::value* disks = spec.if_contains("disks")) {
        std::size_t index = 0;
        for (const auto& d : disks->as_array()) {
            json::object& disk = add_disk(vm, d.as_object(), index++);
            if (disk.at("vm_volume").is_object())
                total += state_.view("vm_volumes").find(str(disk.at("vm_volume").at("id")))->at("size").as_int64();
        }
    }
    // Without "nics", a VM gets one NIC on its cluster's first VLAN.
    json::array default_nics;
    if (!spec.contains("nics")) {
        for (const auto& v : state_.view("vlans").items()) {
            const json::object* vds = state_.view("vdses").find(str(v.at("vds").at("id")));
            if (vds && vds->at("cluster").at("id") == cluster.at("id")) {
                default_nics.push_back(json::object{{"vlan", v.at("id")}});
                break;
            }
        }
    }
    const json::array& nics = spec.contains("nics") ? spec.at("nics").as_array() : default_nics;
    for (std::size_t i = 0; i < nics.size(); ++i) add_nic(vm, nics[i].as_object(), i);
    vm["size"] = total;
    vm["provisioned_size"] = total;
    vm["logical_size_bytes"] = total;
    if (json::object* c = state_.edit("clusters").find(str(cluster.at("id"))))
        (*c)["vm_num"] = c->at("vm_num").as_int64() + 1;
    return state_.edit("vms").add(std::move(vm));
}

void Simulator::apply_scenario(const json::object& scenario) {
    auto list = [&](std::string_view key) -> json::array {
        auto it = scenario.find(key);
        return it != scenario.end() && it->value().is_array() ? it->value().get_array() : json::array{};
    };
    json::array users = list("users");
    if (users.empty()) users.push_back(json::object{{"username", "admin"}, {"password", "admin-password"}});
    for (const auto& u : users) {
        const json::object& o = u.as_object();
        state_.edit("users").add(json::object{{"id", new_cuid()},
                                              {"username", str_or(o, "username", "")},
                                              {"password", str_or(o, "password", "")}});
    }
    json::array clusters = list("clusters");
    if (clusters.empty()) clusters.push_back(json::object{{"name", "c1"}});
    for (const auto& c : clusters) add_cluster(c.as_object());
    for (const auto& t : list("iscsi_targets")) add_target(t.as_object());
    for (const auto& v : list("vms")) add_vm(v.as_object());

    std::int64_t count = opts_.generate_vms;
    std::string prefix = "vm";
    std::int64_t disk_size = 1 << 30;
    if (auto it = scenario.find("generate_vms"); it != scenario.end() && it->value().is_object()) {
        const json::object& g = it->value().get_object();
        count += int_or(g, "count", 0);
        prefix = str_or(g, "prefix", prefix);
        disk_size = int_or(g, "disk_size", disk_size);
    }
    std::string first_cluster(state_.view("clusters").items().front().at("name").as_string());
    for (std::int64_t i = 0; i < count; ++i) {
        char num[32];
        std::snprintf(num, sizeof num, "%05lld", static_cast<long long>(i));
        add_vm(json::object{{"name", prefix + num},
                            {"cluster", first_cluster},
                            {"vm_tools_status", i % 2 ? "NOT_RUNNING" : "RUNNING"},
                            {"disks", json::array{json::object{{"type", "DISK"}, {"size", disk_size}}}}});
    }
}

Resolver Simulator::resolver() const {
    // Relation field name -> the collection holding the full objects.
    static const std::map<std::string, std::string, std::less<>> kRelations = {
        {"vm", "vms"},           {"vms", "vms"},         {"cluster", "clusters"},
        {"vm_disks", "vm_disks"}, {"vm_volume", "vm_volumes"}, {"iscsi_lun", "iscsi_luns"},
        {"lun", "iscsi_luns"},   {"luns", "iscsi_luns"}, {"iscsi_target", "iscsi_targets"},
        {"snapshots", "vm_snapshots"}, {"vds", "vdses"},  {"vlan", "vlans"},
        {"vm_nics", "vm_nics"},  {"vlans", "vlans"},    {"elf_image", "elf_images"}};
    return [this](std::string_view field, const json::object& small) -> const json::object* {
        auto rel = kRelations.find(field);
        auto id = small.find("id");
        if (rel == kRelations.end() || id == small.end() || !id->value().is_string()) return nullptr;
        return state_.view(rel->second).find(std::string(id->value().get_string()));
    };
}

}  // namespace sim
