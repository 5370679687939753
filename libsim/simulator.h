#pragma once
// hci-sim's core: the CloudTower operations, the ZBS volumes behind them, the
// test-only admin calls under /_sim/, and fault injection. Transport-free:
// the HTTP server hands it (method, path, body, Authorization) and sends back
// the Reply.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "libsim/copy_tracker.h"
#include "libsim/state.h"
#include "libsim/where.h"

namespace sim {

class Tgtd;

struct Options {
    std::string state_dir;
    std::string scenario_file;       // applied only when the state directory is new
    std::int64_t task_duration_ms = 300;
    std::int64_t generate_vms = 0;   // extra generated VMs (also a scenario key)
    bool use_tgtd = true;            // false: --no-tgtd
};

// True when v is the JSON string s.
// The IQN of an external target named NAME is kIqnPrefix + NAME.
inline constexpr const char* kIqnPrefix = "iqn.2016-02.com.smartx:system:";

inline bool is(const json::value& v, std::string_view s) { return v.is_string() && v.get_string() == s; }

// Request fields: std::invalid_argument (HTTP 400) when missing or mistyped.
std::string need_string(const json::object& o, std::string_view key);  // non-empty
std::int64_t need_int(const json::object& o, std::string_view key);    // >= 0
// A string value as std::string (the caller knows it is one).
inline std::string str(const json::value& v) { return std::string(v.as_string()); }
// {id, name} of an object, as embedded in others ("vm": {id, name}).
inline json::object nested(const json::object& o) { return {{"id", o.at("id")}, {"name", o.at("name")}}; }

// Removes the elements of a JSON array that match pred.
template <class Pred>
void erase_where(json::array& a, Pred pred) {
    a.erase(std::remove_if(a.begin(), a.end(), pred), a.end());
}

struct Reply {
    unsigned status = 200;
    json::value body;
    bool drop = false;           // close the connection without a response
    std::int64_t latency_ms = 0; // wait this long before answering
    // Slow work (hashing a big image) that the server runs off its event loop;
    // its result becomes the body. Must not touch the simulator's state.
    std::function<json::value()> work;
};

// Raised by operations for a client error; becomes an ErrorBody.
struct ApiError {
    unsigned status;
    std::string message;
    std::string code;  // "ResourceLocked" or empty
};

struct Fault {
    std::string op;
    std::int64_t count = 1;  // -1: forever
    unsigned status = 0;
    std::string code;
    std::int64_t latency_ms = 0;
    bool drop = false;
    bool fail_task = false;
    bool after = false;  // carry the call out, then answer with status or drop (the answer is lost)
};

class Simulator {
public:
    explicit Simulator(Options opts);
    ~Simulator();
    // Loads the state (or creates it from the scenario), then starts tgtd.
    // Returns a line for stderr about the data plane.
    std::string start();
    void stop();  // stops tgtd, saves state
    Reply handle(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& authorization);
    std::string portal() const;  // "127.0.0.1:PORT" or empty when the data plane is off
    // After start(): true when the state directory held a state, which was
    // loaded (and the scenario, if any, not applied).
    bool resumed() const { return resumed_; }

private:
    using Op = json::value (Simulator::*)(const json::value& body, bool fail_task);

    Reply api(const std::string& op, const std::string& path, const std::string& body, const std::string& auth);
    Reply execute(const std::string& op, const std::string& path, const std::string& body, const std::string& auth,
                  bool fail_task);
    Reply admin(const std::string& method, const std::string& path, const std::string& body);
    std::optional<Fault> take_fault(const std::string& op);

    // Scenario and object builders (model.cpp).
    void apply_scenario(const json::object& scenario);
    json::object& add_cluster(const json::object& spec);
    json::object& add_target(const json::object& spec);
    json::object& add_vm(const json::object& spec);
    json::object& add_disk(json::object& vm, const json::object& spec, std::size_t index);
    // A VM volume with its LUN on the cluster's datastore target (mounted when disk_id is set).
    json::object& add_volume(const json::object& cluster, const json::object& spec, std::size_t index,
                             const std::string& disk_id);
    const json::object& spec_cluster(const json::object& spec);  // "cluster_id", else "cluster" by name
    json::object& add_lun(const std::string& target_id, const std::string& name, std::uint64_t size);
    // The task of an iSCSI LUN operation (failing when fail_task).
    std::string lun_task(const std::string& description, const std::string& lun_id, const char* mutation, bool fail_task);
    // A new LUN's answer line {task_id, data}: exported, or removed again when its task fails.
    json::object new_lun_line(json::object lun, const std::string& task, bool fail_task);
    json::object& internal_target(const std::string& cluster_id);
    const json::object& cluster_by_name(const std::string& name);
    std::string lun_path(const json::object& lun) const;
    Resolver resolver() const;

    // VDS, VLANs, NICs, ELF images (network.cpp).
    json::object& vds_of_cluster(const json::object& cluster, const std::string& name);
    json::object& add_vlan(const json::object& cluster, const json::object& spec);
    // A VLAN of the cluster by id, local_id or name; null when there is none.
    const json::object* find_vlan(const std::string& cluster_id, const std::string& key) const;
    std::string new_mac();
    json::object& add_nic(json::object& vm, const json::object& spec, std::size_t order);
    void remove_nic(const std::string& id);
    const json::object& elf_image(const json::object& cluster, const std::string& key, bool create);

    // Tasks (tasks.cpp).
    std::string new_task(const std::string& description, const std::string& resource_type,
                         const std::string& resource_id, const std::string& mutation, const json::value& cluster,
                         bool fail, const std::string& error_code = {}, const std::string& error_message = {});
    void refresh_tasks();

    // Operations (ops.cpp).
    json::value op_login(const json::value& body, bool fail_task);
    json::value op_get(const std::string& collection, const json::value& body);
    json::value op_get_vms(const json::value& body, bool);
    json::value op_get_vm_disks(const json::value& body, bool);
    json::value op_get_vm_volumes(const json::value& body, bool);
    json::value op_get_tasks(const json::value& body, bool);
    json::value op_get_vm_snapshots(const json::value& body, bool);
    json::value op_get_iscsi_lun_snapshots(const json::value& body, bool);
    json::value op_get_clusters(const json::value& body, bool);
    json::value op_get_iscsi_targets(const json::value& body, bool);
    json::value op_get_iscsi_luns(const json::value& body, bool);
    json::value op_get_vm_nics(const json::value& body, bool);
    json::value op_get_vlans(const json::value& body, bool);
    json::value op_create_vm_snapshot(const json::value& body, bool fail_task);
    json::value op_delete_vm_snapshot(const json::value& body, bool fail_task);
    json::value op_clone_iscsi_lun(const json::value& body, bool fail_task);
    json::value op_create_iscsi_lun(const json::value& body, bool fail_task);
    json::value op_delete_iscsi_lun(const json::value& body, bool fail_task);
    json::value op_create_iscsi_target(const json::value& body, bool fail_task);
    std::string free_iqn(const std::string& name, const std::string& cluster,
                         const std::vector<json::object>& pending) const;
    json::object snapshot_vm(const json::object& vm, const std::string& name, const std::string& consistent_type,
                             bool keep);
    void remove_vm_snapshot(const std::string& id);
    void remove_lun(const std::string& id);
    json::value op_update_iscsi_lun(const json::value& body, bool fail_task);

    // VM life cycle (vm_ops.cpp).
    json::value op_create_vm(const json::value& body, bool fail_task);
    json::value op_delete_vm(const json::value& body, bool fail_task);
    json::value op_start_vm(const json::value& body, bool fail_task);
    json::value op_shutdown_vm(const json::value& body, bool fail_task);
    json::value set_vm_status(const json::value& body, bool fail_task, const std::string& status,
                              const std::string& mutation);
    json::object vm_spec(const json::object& params);  // VmCreationParams -> checked add_vm spec
    void remove_vm(const std::string& id, bool include_snapshots);

    // Admin (admin.cpp).
    struct Volume {
        std::string path;
        std::uint64_t size;
    };
    Volume select_volume(const json::object& req);
    // Writes what a disk-write request asks into v; file I/O only, so it
    // may run on a worker thread.
    static json::value write_disk(const Volume& v, const json::object& req);
    json::value admin_state() const;

    // tgtd glue (ops.cpp).
    void export_lun(const json::object& lun);
    void unexport_lun(const json::object& lun);
    void export_all();
    void serve_target(const json::object& target);  // tgtd serves it, with its whitelist and CHAP
    // The datastore (internal) target admits the union of its LUNs' allowed_initiators.
    void update_datastore_acl(const json::object& target);
    bool served(const json::object& lun) const;  // true when tgtd should have this LUN

    Options opts_;
    State state_;
    std::unique_ptr<Tgtd> tgtd_;
    bool resumed_ = false;
    std::map<std::string, Op> ops_;
    std::map<std::string, std::int64_t> counters_;
    std::vector<Fault> faults_;
    std::map<std::string, std::int64_t> next_lun_id_;  // per target id
    std::set<std::string> macs_;                       // MACs in use, filled by new_mac()
    // Snapshot copies an operation queued; api() runs them off the event
    // loop before the reply goes out.
    struct Copy {
        std::string source, destination;
        std::uint64_t size;
    };
    std::vector<Copy> queued_copies_;
    std::shared_ptr<CopyTracker> copies_ = std::make_shared<CopyTracker>();
};

}  // namespace sim
