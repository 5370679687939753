#pragma once
// hci-vm-create's pure part: from a configuration line (hci-vm-get --full)
// and the decisions taken on the target cluster, the create-vm parameters.
// No API calls here, so every rule is unit-tested.
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hci {

namespace json = boost::json;

// --map-vlan SRC=DST, in the order given. SRC and DST are VLAN names or ids.
using VlanMap = std::vector<std::pair<std::string, std::string>>;
// "SRC=DST" -> pair; usage error (Error kExitUsage) when malformed.
std::pair<std::string, std::string> parse_vlan_mapping(const std::string& text);
void check_vlan_mappings(const std::vector<std::string>& texts);  // each parses (--map-vlan's notifier)

// --name TEMPLATE: "{name}" is the original name, "{time}" the UTC time
// (YYYYMMDD-HHMMSS). A template without placeholders is a literal name.
std::string expand_name(const std::string& name_template, const std::string& original, const std::string& time);

// Why a line cannot be rebuilt (empty when it can): it must be an
// hci-vm-get --full line, with resolved disks (DISKs with volume sizes) and NICs.
std::string check_config_line(const json::object& config);

// A VLAN of the target cluster, as get-vlans returns it.
struct TargetVlans {
    std::vector<json::object> vlans;
};

// Picks the target VLAN for a NIC's recorded VLAN: the mapped one (by name
// or id), else the same VLAN (id) or one with the same name on the target.
// Returns the VLAN id, or nullopt with `error` explaining what to do.
std::optional<std::string> choose_vlan(const json::object& source_vlan, const VlanMap& map,
                                       const TargetVlans& target, std::string& error);

// Where and how the new VM is made.
struct Placement {
    std::string name;
    std::string cluster_id;
    std::string host_id;  // empty: CloudTower chooses
    bool keep_mac = false;
    std::string storage_policy;  // empty: each volume's recorded policy
    std::vector<std::string> nic_vlan_ids;  // per NIC in the config's order
};

// The volume name of the new VM's disk that was disk `index` of the original.
std::string new_volume_name(const std::string& vm_name, long index);

// VmCreationParams for one configuration: the VM stopped, new empty volumes
// of the recorded sizes, buses, boot order and storage policies, empty CD-ROM
// drives, NICs on the chosen VLANs (MACs only with keep_mac).
json::object creation_params(const json::object& config, const Placement& placement);

}  // namespace hci
