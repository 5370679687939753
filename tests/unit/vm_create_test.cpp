#include <catch2/catch.hpp>

#include "libcommon/base/error.h"
#include "tools/hci-vm-create/vm_plan.h"

namespace json = boost::json;

namespace {

// A configuration line as hci-vm-get --full writes it (the fields that matter).
json::object config() {
    return json::parse(R"({
      "id": "vm1", "name": "web01", "hci_config": 1, "vcpu": 4, "cpu": {"sockets": 2, "cores": 2},
      "memory": 8589934592, "firmware": "UEFI", "ha": true, "guest_os_type": "LINUX", "description": "d",
      "cluster": {"id": "c1", "name": "c1"},
      "vm_disks": [
        {"index": 0, "type": "DISK", "bus": "VIRTIO", "boot": 1,
         "vm_volume": {"id": "v0", "name": "web01-disk0", "size": 10737418240, "elf_storage_policy": "REPLICA_3_THIN_PROVISION"}},
        {"index": 1, "type": "CD_ROM", "bus": "IDE", "boot": 3, "vm_volume": null, "elf_image": {"id": "i", "name": "iso"}},
        {"index": 2, "type": "DISK", "bus": "SCSI", "boot": 2,
         "vm_volume": {"id": "v2", "name": "web01-disk2", "size": 1049088, "elf_storage_policy": "REPLICA_2_THICK_PROVISION"}}],
      "vm_nics": [
        {"id": "n0", "order": 0, "model": "VIRTIO", "enabled": true, "mac_address": "52:54:00:00:00:01",
         "vlan": {"id": "vl1", "name": "prod", "local_id": "L1", "vlan_id": 10}},
        {"id": "n1", "order": 1, "model": "E1000", "enabled": false, "mac_address": "52:54:00:00:00:02",
         "vlan": {"id": "vl2", "name": "backup", "local_id": "L2", "vlan_id": 20}}]
    })").as_object();
}

hci::TargetVlans cluster2() {
    hci::TargetVlans t;
    for (auto* text : {R"({"id": "x1", "name": "prod"})", R"({"id": "x2", "name": "storage"})",
                       R"({"id": "x3", "name": "dup"})", R"({"id": "x4", "name": "dup"})"})
        t.vlans.push_back(json::parse(text).as_object());
    return t;
}

std::optional<std::string> vlan_for(const char* name, const char* id, const hci::VlanMap& map, std::string& error) {
    return hci::choose_vlan(json::object{{"id", id}, {"name", name}}, map, cluster2(), error);
}

}  // namespace

TEST_CASE("a full configuration line passes; a plain Vm line is refused with the fix") {
    CHECK(hci::check_config_line(config()).empty());
    json::object plain = config();
    plain.erase("hci_config");
    CHECK(hci::check_config_line(plain).find("hci-vm-get --full") != std::string::npos);
    json::object bare = config();
    bare["vm_disks"] = json::array{json::object{{"id", "d0"}}};
    CHECK(hci::check_config_line(bare).find("type") != std::string::npos);
    json::object sizeless = config();
    sizeless["vm_disks"].as_array()[0].as_object()["vm_volume"].as_object().erase("size");
    CHECK(hci::check_config_line(sizeless).find("disk 0 has no volume size") != std::string::npos);
    json::object newer = config();
    newer["hci_config"] = 2;
    CHECK(hci::check_config_line(newer).find("newer") != std::string::npos);
}

TEST_CASE("names come from the template; a literal name stays literal") {
    CHECK(hci::expand_name("{name}-restored", "web01", "20261128-120000") == "web01-restored");
    CHECK(hci::expand_name("{name}-{time}", "web01", "20261128-120000") == "web01-20261128-120000");
    CHECK(hci::expand_name("db-copy", "web01", "t") == "db-copy");
    CHECK(hci::expand_name("{name}{name}", "a", "t") == "aa");
}

TEST_CASE("--map-vlan wants exactly SRC=DST") {
    CHECK(hci::parse_vlan_mapping("prod=storage") == std::pair<std::string, std::string>{"prod", "storage"});
    for (auto* bad : {"prod", "=x", "x=", "a=b=c"}) CHECK_THROWS_AS(hci::parse_vlan_mapping(bad), hci::Error);
}

TEST_CASE("a NIC's VLAN: mapped, else the same id, else the same name, else an error naming the fix") {
    std::string error;
    CHECK(vlan_for("prod", "vl1", {}, error) == "x1");                       // same name on the target
    CHECK(vlan_for("prod", "x2", {}, error) == "x2");                        // same VLAN (same cluster)
    CHECK(vlan_for("backup", "vl2", {{"backup", "storage"}}, error) == "x2"); // mapped by name
    CHECK(vlan_for("backup", "vl2", {{"vl2", "x1"}}, error) == "x1");         // mapped by ids
    CHECK_FALSE(vlan_for("backup", "vl2", {}, error));
    CHECK(error.find("--map-vlan backup=") != std::string::npos);
    CHECK_FALSE(vlan_for("backup", "vl2", {{"backup", "nowhere"}}, error));
    CHECK(error.find("no VLAN named (or with id) nowhere") != std::string::npos);
    CHECK_FALSE(vlan_for("dup", "vl9", {}, error));
    CHECK(error.find("2 VLANs") != std::string::npos);
}

TEST_CASE("create-vm parameters keep the shape: sizes, buses, boot order, policies, CD-ROMs, NICs") {
    // Built whole: assigning the strings after default construction makes
    // GCC 12 -O3 see the short strings' bytes as maybe uninitialized.
    hci::Placement where{.name = "web01-restored",
                         .cluster_id = "c2",
                         .host_id = "",
                         .keep_mac = false,
                         .storage_policy = "",
                         .nic_vlan_ids = {"x1", "x2"}};
    json::object p = hci::creation_params(config(), where);
    CHECK(p["name"] == "web01-restored");
    CHECK(p["cluster_id"] == "c2");
    CHECK(!p.contains("host_id"));
    CHECK(p["vcpu"] == 4);
    CHECK(p["cpu_sockets"] == 2);
    CHECK(p["cpu_cores"] == 2);
    CHECK(p["memory"] == 8589934592);
    CHECK(p["memory_unit"] == "B");
    CHECK(p["firmware"] == "UEFI");
    CHECK(p["ha"] == true);
    CHECK(p["status"] == "STOPPED");
    CHECK(p["guest_os_type"] == "LINUX");
    auto& disks = p["vm_disks"].as_object();
    auto& fresh = disks["mount_new_create_disks"].as_array();
    REQUIRE(fresh.size() == 2);
    CHECK(fresh[0].at("bus") == "VIRTIO");
    CHECK(fresh[0].at("boot") == 1);
    CHECK(fresh[0].at("vm_volume").at("size") == 10737418240);
    CHECK(fresh[0].at("vm_volume").at("name") == "web01-restored-disk0");
    CHECK(fresh[0].at("vm_volume").at("elf_storage_policy") == "REPLICA_3_THIN_PROVISION");
    CHECK(fresh[1].at("bus") == "SCSI");
    CHECK(fresh[1].at("vm_volume").at("name") == "web01-restored-disk2");
    CHECK(fresh[1].at("vm_volume").at("size") == 1049088);
    auto& cds = disks["mount_cd_roms"].as_array();
    REQUIRE(cds.size() == 1);
    CHECK(cds[0].as_object() == json::object{{"index", 1}, {"boot", 3}});  // empty: the image may not exist there
    CHECK(fresh[0].at("index") == 0);
    CHECK(fresh[1].at("index") == 2);
    auto& nics = p["vm_nics"].as_array();
    REQUIRE(nics.size() == 2);
    CHECK(nics[0].at("connect_vlan_id") == "x1");
    CHECK(nics[1].at("connect_vlan_id") == "x2");
    CHECK(nics[1].at("model") == "E1000");
    CHECK(nics[1].at("enabled") == false);
    CHECK(!nics[0].as_object().contains("mac_address"));  // new MACs unless --keep-mac

    where.keep_mac = true;
    where.host_id = "h1";
    p = hci::creation_params(config(), where);
    CHECK(p["host_id"] == "h1");
    CHECK(p["vm_nics"].at(0).at("mac_address") == "52:54:00:00:00:01");

    where.storage_policy = "REPLICA_2_THIN_PROVISION";  // --storage-policy: for a cluster without the recorded one
    p = hci::creation_params(config(), where);
    for (const auto& d : p["vm_disks"].at("mount_new_create_disks").as_array())
        CHECK(d.at("vm_volume").at("elf_storage_policy") == "REPLICA_2_THIN_PROVISION");
}
