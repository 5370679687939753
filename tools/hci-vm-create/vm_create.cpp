#include "vm_create.h"

#include <ctime>
#include <set>

#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"
#include "libcommon/base/utc_time.h"

namespace hci {
namespace {

// Exactly one object of `op` whose id or name is `what`.
json::object find_one(CloudTower& tower, const char* op, const char* what_kind, const std::string& what) {
    json::array found = tower.query_all(
        op, json::object{{"OR", json::array{json::object{{"id", what}}, json::object{{"name", what}}}}});
    if (found.empty()) fail(kExitNotFound, std::string("no ") + what_kind + " named (or with id) " + what);
    if (found.size() > 1)
        fail(kExitNotFound, std::to_string(found.size()) + " " + what_kind + "s are named " + what + "; give its id");
    return found[0].as_object();
}

std::map<std::string, json::object> by_id(json::array items) {
    std::map<std::string, json::object> out;
    for (auto& v : items)
        if (v.is_object()) out[text_field(v.as_object(), "/id")] = std::move(v.as_object());
    return out;
}

std::map<std::string, json::object> fetch_by_ids(CloudTower& tower, const char* op, const std::set<std::string>& ids) {
    if (ids.empty()) return {};
    return by_id(tower.query_all(op, json::object{{"id_in", json::value_from(ids)}}));
}

}  // namespace

struct VmCreator::Plan {
    const InputLine* line = nullptr;
    json::object params;        // VmCreationParams
    std::string name;           // of the new VM
    std::string cluster_id;
    std::string task_id, vm_id;  // once create-vm answered
    std::vector<json::object> lines;  // the output, one per data disk
    bool ok = true;
};

VmCreator::VmCreator(CloudTower& tower, VmCreateOptions options)
    : tower_(tower), options_(std::move(options)), time_(utc_now("%Y%m%d-%H%M%S")) {
    if (!options_.cluster.empty()) {
        json::object c = find_one(tower_, "get-clusters", "cluster", options_.cluster);
        forced_cluster_id_ = text_field(c, "/id");
        clusters_[forced_cluster_id_] = std::move(c);
    }
    if (!options_.host.empty()) {
        json::object h = find_one(tower_, "get-hosts", "host", options_.host);
        host_id_ = text_field(h, "/id");
        const std::string host_cluster = text_field(h, "/cluster/id");
        if (!forced_cluster_id_.empty() && host_cluster != forced_cluster_id_)
            fail(kExitUsage, "--host " + options_.host + " is not in cluster " + options_.cluster);
        if (forced_cluster_id_.empty()) {
            forced_cluster_id_ = host_cluster;
            clusters_[host_cluster] = find_one(tower_, "get-clusters", "cluster", host_cluster);
        }
    }
}

const json::object& VmCreator::target_cluster(const json::object& config) {
    const std::string id = forced_cluster_id_.empty() ? text_field(config, "/cluster/id") : forced_cluster_id_;
    auto it = clusters_.find(id);
    if (it != clusters_.end()) return it->second;
    static const json::object kNone;
    return kNone;
}

const TargetVlans& VmCreator::vlans_of(const std::string& cluster_id) {
    auto it = vlans_.find(cluster_id);
    if (it != vlans_.end()) return it->second;
    TargetVlans t;
    for (auto& v : tower_.query_all("get-vlans", json::object{{"vds", json::object{{"cluster", json::object{{"id", cluster_id}}}}}}))
        if (v.is_object()) t.vlans.push_back(std::move(v.as_object()));
    return vlans_[cluster_id] = std::move(t);
}

bool VmCreator::plan_line(const InputLine& line, std::vector<Plan>& plans, LineReader& reader) {
    const json::object& config = line.object;
    if (std::string why = check_config_line(config); !why.empty()) {
        reader.reject(line.number, why);
        return false;
    }
    const json::object& cluster = target_cluster(config);
    if (cluster.empty()) {
        reader.reject(line.number, "VM " + text_field(config, "/name") + ": its cluster " + text_field(config, "/cluster/name") +
                                       " is not known here; give --cluster");
        return false;
    }
    Placement placement;
    placement.name = expand_name(options_.name_template, text_field(config, "/name"), time_);
    placement.cluster_id = text_field(cluster, "/id");
    placement.host_id = host_id_;
    placement.keep_mac = options_.keep_mac;
    placement.storage_policy = options_.storage_policy;
    const TargetVlans& vlans = vlans_of(placement.cluster_id);
    std::size_t nic_number = 0;
    for (const auto& nic : config.at("vm_nics").as_array()) {
        std::string error;
        auto vlan = choose_vlan(nic.at("vlan").as_object(), options_.vlan_map, vlans, error);
        if (!vlan) {
            reader.reject(line.number, "VM " + text_field(config, "/name") + ", NIC " + std::to_string(nic_number) +
                                           " on cluster " + text_field(cluster, "/name") + ": " + error);
            return false;
        }
        placement.nic_vlan_ids.push_back(*vlan);
        ++nic_number;
    }
    Plan plan;
    plan.line = &line;
    plan.params = creation_params(config, placement);
    plan.name = placement.name;
    plan.cluster_id = placement.cluster_id;
    plans.push_back(std::move(plan));
    return true;
}

void VmCreator::refuse_taken_names(std::vector<Plan>& plans, RunStatus& status) {
    if (options_.allow_duplicate_name || plans.empty()) return;
    std::vector<std::string> names;
    for (const auto& p : plans) names.push_back(p.name);
    std::map<std::string, std::string> taken;  // name -> id of a VM that has it
    for (const auto& vm : tower_.query_all("get-vms", json::object{{"name_in", json::value_from(names)}}))
        if (vm.is_object()) taken[text_field(vm.as_object(), "/name")] = text_field(vm.as_object(), "/id");
    std::set<std::string> in_batch;
    for (auto& p : plans) {
        std::string why;
        if (taken.count(p.name))
            why = "a VM named " + p.name + " exists (id " + taken[p.name] + ")";
        else if (!in_batch.insert(p.name).second)
            why = "two configurations would both be named " + p.name;
        if (why.empty()) continue;
        log_error(why + "; choose another --name (e.g. '{name}-{time}') or give --allow-duplicate-name");
        status.note(kExitPartial);
        p.ok = false;
    }
}

void VmCreator::delete_vms(const std::vector<std::string>& ids, const std::string& why) {
    std::vector<std::string> real;
    for (const auto& id : ids)
        if (!id.empty()) real.push_back(id);
    if (real.empty()) return;
    log_warning(why + ": deleting the " + std::to_string(real.size()) + " VM(s) just created");
    try {
        json::value r = tower_.mutate("delete-vm", json::object{{"where", json::object{{"id_in", json::value_from(real)}}}});
        std::vector<std::string> tasks;
        if (r.is_array())
            for (const auto& t : r.as_array())
                if (t.is_object()) tasks.push_back(text_field(t.as_object(), "/task_id"));
        // After Ctrl-C the request is what matters; waiting would be cut short anyway.
        if (!interrupted()) wait_for_tasks(tower_, tasks, options_.wait_settings);
    } catch (const Error& e) {
        log_error(std::string("could not delete them (ids ") + json::serialize(json::value_from(real)) + "): " + e.what());
    }
}

void VmCreator::create(std::vector<Plan>& plans, RunStatus& status) {
    json::array params;
    std::vector<Plan*> sent;
    for (auto& p : plans)
        if (p.ok) {
            params.push_back(p.params);
            sent.push_back(&p);
        }
    if (sent.empty()) return;
    json::value response;
    try {
        response = tower_.mutate("create-vm", params);
    } catch (const ApiError& e) {
        for (auto* p : sent) p->ok = false;
        log_error("create-vm for " + std::to_string(sent.size()) + " VM(s) refused; nothing was created: " + e.what());
        status.note(e.code());
        return;
    }
    if (!response.is_array() || response.as_array().size() != sent.size())
        fail(kExitApi, "create-vm: expected " + std::to_string(sent.size()) + " results");
    std::vector<std::string> tasks, ids;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const json::value& r = response.as_array()[i];
        sent[i]->task_id = r.is_object() ? text_field(r.as_object(), "/task_id") : "";
        sent[i]->vm_id = r.is_object() ? text_field(r.as_object(), "/data/id") : "";
        tasks.push_back(sent[i]->task_id);
        ids.push_back(sent[i]->vm_id);
    }
    std::map<std::string, TaskOutcome> outcomes;
    try {
        outcomes = wait_for_tasks(tower_, tasks, options_.wait_settings);
    } catch (const Interrupted&) {
        delete_vms(ids, "interrupted");
        throw;
    }
    std::vector<std::string> failed_ids;
    for (auto* p : sent) {
        auto o = outcomes.find(p->task_id);
        if (o == outcomes.end() || o->second.status == TaskOutcome::kSucceeded) continue;
        log_error("creating VM " + p->name + ": " + o->second.describe());
        status.note(exit_code_for(o->second));
        p->ok = false;
        failed_ids.push_back(p->vm_id);
    }
    // A failed task may leave the VM behind half made; never leave it.
    if (!failed_ids.empty()) {
        std::set<std::string> wanted(failed_ids.begin(), failed_ids.end());
        wanted.erase("");
        std::vector<std::string> left;
        for (const auto& [id, vm] : fetch_by_ids(tower_, "get-vms", wanted)) left.push_back(id);
        delete_vms(left, "create-vm tasks failed");
    }
}

void VmCreator::read_back(std::vector<Plan>& plans, RunStatus& status) {
    std::set<std::string> vm_ids;
    for (const auto& p : plans)
        if (p.ok) vm_ids.insert(p.vm_id);
    if (vm_ids.empty()) return;
    auto vms = fetch_by_ids(tower_, "get-vms", vm_ids);
    auto disks = by_id(tower_.query_all("get-vm-disks", json::object{{"vm", json::object{{"id_in", json::value_from(vm_ids)}}}}));
    std::set<std::string> volume_ids, lun_ids, target_ids;
    for (const auto& [id, d] : disks)
        if (auto v = string_field(d, "/vm_volume/id")) volume_ids.insert(*v);
    auto volumes = fetch_by_ids(tower_, "get-vm-volumes", volume_ids);
    for (const auto& [id, v] : volumes)
        if (auto l = string_field(v, "/lun/id")) lun_ids.insert(*l);
    auto luns = fetch_by_ids(tower_, "get-iscsi-luns", lun_ids);
    for (const auto& [id, l] : luns)
        if (auto t = string_field(l, "/iscsi_target/id")) target_ids.insert(*t);
    auto targets = fetch_by_ids(tower_, "get-iscsi-targets", target_ids);

    for (auto& p : plans) {
        if (!p.ok) continue;
        const json::object& config = p.line->object;
        const json::object& cluster = clusters_.at(p.cluster_id);
        auto vm = vms.find(p.vm_id);
        std::vector<json::object> lines;
        std::string problem = vm == vms.end() ? "the new VM cannot be read back" : "";
        // The original disks by the volume name they were given, for original_index.
        std::map<std::string, const json::object*> original_by_volume;
        for (const auto& d : config.at("vm_disks").as_array())
            if (text_field(d.as_object(), "/type") == "DISK")
                original_by_volume[new_volume_name(p.name, d.as_object().at("index").to_number<long>())] = &d.as_object();
        std::int64_t index = 0;
        const json::array* refs = problem.empty() ? &vm->second.at("vm_disks").as_array() : nullptr;
        for (std::size_t i = 0; refs && i < refs->size() && problem.empty(); ++i, ++index) {
            auto disk = disks.find(text_field((*refs)[i].as_object(), "/id"));
            if (disk == disks.end()) { problem = "disk " + text_field((*refs)[i].as_object(), "/id") + " cannot be read back"; break; }
            if (text_field(disk->second, "/type") != "DISK") continue;
            auto volume = volumes.find(text_field(disk->second, "/vm_volume/id"));
            auto lun = volume == volumes.end() ? luns.end() : luns.find(text_field(volume->second, "/lun/id"));
            auto target = lun == luns.end() ? targets.end() : targets.find(text_field(lun->second, "/iscsi_target/id"));
            if (target == targets.end()) { problem = "disk " + std::to_string(index) + " has no volume, LUN or target"; break; }
            auto original = original_by_volume.find(text_field(volume->second, "/name"));
            if (original == original_by_volume.end()) { problem = "volume " + text_field(volume->second, "/name") + " is not one it asked for"; break; }
            const std::string portal = text_field(cluster, "/iscsi_vip");
            if (portal.empty()) { problem = "cluster " + text_field(cluster, "/name") + " has no iscsi_vip"; break; }
            const json::object& l = lun->second;
            const json::object& t = target->second;
            lines.push_back(json::object{
                {"vm", json::object{{"id", p.vm_id}, {"name", p.name}, {"cluster", json::object{{"id", p.cluster_id}, {"name", cluster.at("name")}}}}},
                {"source_vm", json::object{{"id", config.at("id")}, {"name", config.at("name")}}},
                {"disk", json::object{{"id", disk->second.at("id")}, {"index", index}, {"bus", disk->second.at("bus")},
                                      {"boot", disk->second.at("boot")}, {"size", volume->second.at("size")},
                                      {"original_index", original->second->at("index")}}},
                {"volume", json::object{{"id", volume->second.at("id")}, {"name", volume->second.at("name")},
                                        {"size", volume->second.at("size")},
                                        {"elf_storage_policy", volume->second.at("elf_storage_policy")}}},
                {"lun", json::object{{"id", l.at("id")}, {"name", l.at("name")}, {"lun_id", l.at("lun_id")},
                                     {"target", json::object{{"id", t.at("id")}, {"name", t.at("name")}, {"iqn_name", t.at("iqn_name")}}}}},
                {"url", "iscsi://" + portal + "/" + text_field(t, "/iqn_name") + "/" + json::serialize(l.at("lun_id"))}});
        }
        if (problem.empty() && lines.size() != original_by_volume.size())
            problem = "it has " + std::to_string(lines.size()) + " data disks, not " + std::to_string(original_by_volume.size());
        if (!problem.empty()) {
            log_error("VM " + p.name + " (id " + p.vm_id + "): " + problem);
            status.note(kExitApi);
            delete_vms({p.vm_id}, "VM " + p.name + " is not as asked");
            p.ok = false;
            continue;
        }
        if (lines.empty())  // no data disk: one line still tells the pipe the VM exists
            lines.push_back(json::object{{"vm", json::object{{"id", p.vm_id}, {"name", p.name}}},
                                         {"source_vm", json::object{{"id", config.at("id")}, {"name", config.at("name")}}},
                                         {"disk", nullptr}, {"volume", nullptr}, {"lun", nullptr}, {"url", nullptr}});
        p.lines = std::move(lines);
    }
}

std::set<std::string> VmCreator::operate(const char* op, const std::vector<std::string>& ids, RunStatus& status) {
    std::set<std::string> failed;
    if (ids.empty()) return failed;
    json::value r = tower_.mutate(op, json::object{{"where", json::object{{"id_in", json::value_from(ids)}}}});
    std::vector<std::string> tasks;
    std::map<std::string, std::string> vm_of_task;
    if (r.is_array())
        for (const auto& t : r.as_array())
            if (t.is_object()) {
                tasks.push_back(text_field(t.as_object(), "/task_id"));
                vm_of_task[tasks.back()] = text_field(t.as_object(), "/data/id");
            }
    for (const auto& [id, outcome] : wait_for_tasks(tower_, tasks, options_.wait_settings)) {
        if (outcome.status == TaskOutcome::kSucceeded) continue;
        log_error(std::string(op) + " for VM " + vm_of_task[id] + ": " + outcome.describe());
        status.note(exit_code_for(outcome));
        failed.insert(vm_of_task[id]);
    }
    return failed;
}

void VmCreator::start(std::vector<Plan>& plans, RunStatus& status) {
    std::vector<std::string> ids;
    for (const auto& p : plans)
        if (p.ok) ids.push_back(p.vm_id);
    if (!options_.start) return;
    if (!operate("start-vm", ids, status).empty()) log_error("the VMs that did not start are kept, stopped");
}

void VmCreator::follow_up(FollowUp what, const std::vector<InputLine>& batch, LineReader& reader, LineWriter& out,
                          RunStatus& status) {
    std::vector<const InputLine*> lines;
    std::vector<std::string> ids;
    std::set<std::string> seen;
    for (const auto& line : batch) {
        auto id = string_field(line.object, "/vm/id");
        if (!id || !find_field(line.object, "/source_vm")) {
            reader.reject(line.number, "not an hci-vm-create line (no vm.id and source_vm)");
            continue;
        }
        lines.push_back(&line);
        if (seen.insert(*id).second) ids.push_back(*id);
    }
    std::set<std::string> failed = operate(what == FollowUp::kStart ? "start-vm" : "delete-vm", ids, status);
    for (const auto* line : lines)
        if (!failed.count(text_field(line->object, "/vm/id"))) out.write(line->object);
}

void VmCreator::create_batch(const std::vector<InputLine>& batch, LineReader& reader, LineWriter& out,
                             RunStatus& status) {
    // Clusters named by the lines, in one query, unless --cluster decides.
    if (forced_cluster_id_.empty()) {
        std::set<std::string> wanted;
        for (const auto& line : batch)
            if (auto id = string_field(line.object, "/cluster/id"); id && !clusters_.count(*id)) wanted.insert(*id);
        for (auto& [id, c] : fetch_by_ids(tower_, "get-clusters", wanted)) clusters_[id] = std::move(c);
    }
    std::vector<Plan> plans;
    for (const auto& line : batch) plan_line(line, plans, reader);
    refuse_taken_names(plans, status);
    check_interrupted();
    create(plans, status);
    try {
        read_back(plans, status);
        start(plans, status);
    } catch (const Error& e) {
        std::vector<std::string> ids;
        for (const auto& p : plans)
            if (p.ok) ids.push_back(p.vm_id);
        delete_vms(ids, interrupted() ? "interrupted" : e.what());
        throw;
    }
    for (const auto& p : plans)
        if (p.ok)
            for (const auto& l : p.lines) out.write(l);
}

}  // namespace hci
