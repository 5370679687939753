#pragma once
// hci-vm-create: rebuild VMs from configuration lines (hci-vm-get --full)
// with create-vm, and print one line per data disk of each new VM.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"
#include "libcommon/base/json_lines.h"
#include "vm_plan.h"

namespace hci {

struct VmCreateOptions {
    std::string name_template = "{name}-restored";  // --name
    bool allow_duplicate_name = false;               // --allow-duplicate-name
    std::string cluster;                             // --cluster NAME|ID (default: the original cluster)
    std::string host;                                // --host NAME|ID
    VlanMap vlan_map;                                // --map-vlan SRC=DST...
    bool keep_mac = false;                           // --keep-mac
    std::string storage_policy;                      // --storage-policy (default: as recorded)
    bool start = false;                              // --start
    TaskWaitSettings wait_settings;
};

// What to do with the VMs named in hci-vm-create's own output lines (vm.id
// and source_vm): start them after their disks were written, or delete them
// (with their new volumes) when a restore failed. Lines not made by
// hci-vm-create are refused, so these modes never touch another VM.
enum class FollowUp { kNone, kStart, kDelete };

class VmCreator {
public:
    // Resolves --cluster and --host once (exit 4 when they do not exist).
    VmCreator(CloudTower& tower, VmCreateOptions options);

    // One batch of configuration lines: checks every line (name free, VLANs
    // and cluster resolvable) before anything is created, then one create-vm
    // call, one wait, one read-back per operation. A VM that cannot be read
    // back, or whose task is interrupted, is deleted again.
    void create_batch(const std::vector<InputLine>& batch, LineReader& reader, LineWriter& out, RunStatus& status);

    // --start-created / --delete-created on one batch of hci-vm-create lines;
    // each line is written back once its VM is started or deleted.
    void follow_up(FollowUp what, const std::vector<InputLine>& batch, LineReader& reader, LineWriter& out,
                   RunStatus& status);

private:
    struct Plan;
    const json::object& target_cluster(const json::object& config);
    const TargetVlans& vlans_of(const std::string& cluster_id);
    bool plan_line(const InputLine& line, std::vector<Plan>& plans, LineReader& reader);
    void refuse_taken_names(std::vector<Plan>& plans, RunStatus& status);
    void create(std::vector<Plan>& plans, RunStatus& status);
    void read_back(std::vector<Plan>& plans, RunStatus& status);
    void start(std::vector<Plan>& plans, RunStatus& status);
    // Runs a VmWhereInput operation (start-vm, delete-vm) on ids and waits;
    // returns the ids whose task did not succeed.
    std::set<std::string> operate(const char* op, const std::vector<std::string>& ids, RunStatus& status);
    void delete_vms(const std::vector<std::string>& ids, const std::string& why);

    CloudTower& tower_;
    VmCreateOptions options_;
    std::map<std::string, json::object> clusters_;     // by id
    std::map<std::string, TargetVlans> vlans_;          // by cluster id
    std::string forced_cluster_id_, host_id_;
    std::string time_;
};

}  // namespace hci
