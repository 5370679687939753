// iSCSI LUN operations: clone a LUN snapshot into a target, create an empty
// LUN, delete LUNs; each LUN on an external target is served by tgtd. And
// create-iscsi-target, which makes such a target.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "libsim/ids.h"
#include "libsim/fields.h"
#include "libsim/simulator.h"
#include "libsim/tgtd.h"
#include "libsim/volume_file.h"

namespace sim {

bool Simulator::served(const json::object& lun) const {
    const json::object* target = state_.view("iscsi_targets").find(str(lun.at("iscsi_target").at("id")));
    if (!target) return false;
    // A datastore LUN is reachable only by the initiators it allows.
    return !target->at("internal").as_bool() || !split_whitelist(str(lun.at("allowed_initiators"))).empty();
}

void Simulator::export_lun(const json::object& lun) {
    if (!tgtd_ || !tgtd_->running() || !served(lun)) return;
    const json::object* target = state_.view("iscsi_targets").find(str(lun.at("iscsi_target").at("id")));
    const json::object* file = state_.view("files").find(str(lun.at("id")));
    ensure_volume(str(file->at("path")), static_cast<std::uint64_t>(file->at("size").as_int64()));
    tgtd_->add_lun(str(target->at("iqn_name")), static_cast<long>(lun.at("lun_id").as_int64()), str(file->at("path")));
}

void Simulator::unexport_lun(const json::object& lun) {
    if (!tgtd_ || !tgtd_->running() || !served(lun)) return;
    const json::object* target = state_.view("iscsi_targets").find(str(lun.at("iscsi_target").at("id")));
    tgtd_->remove_lun(str(target->at("iqn_name")), static_cast<long>(lun.at("lun_id").as_int64()));
}

void Simulator::update_datastore_acl(const json::object& target) {
    if (!tgtd_ || !tgtd_->running() || !target.at("internal").as_bool()) return;
    std::vector<std::string> all;
    for (const auto& ref : target.at("luns").as_array()) {
        const json::object* lun = state_.view("iscsi_luns").find(str(ref.at("id")));
        if (!lun) continue;
        for (auto& i : split_whitelist(str(lun->at("allowed_initiators"))))
            if (std::find(all.begin(), all.end(), i) == all.end()) all.push_back(i);
    }
    tgtd_->set_initiators(str(target.at("iqn_name")), all);
}

void Simulator::serve_target(const json::object& t) {
    std::vector<ChapAccount> chap;
    if (t.at("chap_enabled").as_bool()) {
        for (const auto& c : t.at("initiator_chaps").as_array())
            chap.push_back({str(c.at("chap_name")), str(c.at("chap_secret"))});
        if (t.at("chap_name").is_string() && t.at("chap_secret").is_string())
            chap.push_back({str(t.at("chap_name")), str(t.at("chap_secret"))});
    }
    tgtd_->add_target(str(t.at("iqn_name")), t.at("internal").as_bool() ? "" : str(t.at("iqn_whitelist")), chap);
    update_datastore_acl(t);
}

void Simulator::export_all() {
    for (const auto& t : state_.view("iscsi_targets").items()) serve_target(t);
    for (const auto& l : state_.view("iscsi_luns").items()) export_lun(l);
}

void Simulator::remove_lun(const std::string& id) {
    const json::object* lun = state_.view("iscsi_luns").find(id);
    if (!lun) return;
    unexport_lun(*lun);
    std::string target_id = str(lun->at("iscsi_target").at("id"));
    if (const json::object* f = state_.view("files").find(id)) std::remove(str(f->at("path")).c_str());
    state_.edit("files").remove_if([&](const json::object& o) { return is(o.at("id"), id); });
    state_.edit("iscsi_luns").remove_if([&](const json::object& o) { return is(o.at("id"), id); });
    if (json::object* t = state_.edit("iscsi_targets").find(target_id)) {
        erase_where(t->at("luns").as_array(), [&](const json::value& l) { return is(l.at("id"), id); });
        update_datastore_acl(*t);
    }
}

std::string Simulator::lun_task(const std::string& description, const std::string& lun_id, const char* mutation,
                                bool fail_task) {
    return new_task(description, "IscsiLun", lun_id, mutation, nullptr, fail_task, fail_task ? "SimInjectedFailure" : "",
                    fail_task ? "task failed (injected by hci-sim /_sim/faults)" : "");
}

json::object Simulator::new_lun_line(json::object lun, const std::string& task, bool fail_task) {
    if (fail_task)
        remove_lun(str(lun.at("id")));
    else
        export_lun(lun);
    return json::object{{"task_id", task}, {"data", std::move(lun)}};
}

json::value Simulator::op_clone_iscsi_lun(const json::value& body, bool fail_task) {
    const json::array& items = request_entries(body);
    std::vector<const json::object*> snaps;
    for (const auto& e : items) {
        const json::object& o = e.get_object();
        std::string target_id = need_string(o, "iscsi_target_id");
        need_string(o, "name");
        std::string snap_id = need_string(o, "snapshot_id");
        if (!state_.view("iscsi_targets").find(target_id))
            throw ApiError{404, "iSCSI target " + target_id + " not found", ""};
        const json::object* snap = state_.view("iscsi_lun_snapshots").find(snap_id);
        for (const auto& s : state_.view("iscsi_lun_snapshots").items())
            if (!snap && is(s.at("local_id"), snap_id)) snap = &s;
        if (!snap) throw ApiError{404, "iSCSI LUN snapshot " + snap_id + " not found", ""};
        snaps.push_back(snap);
    }
    json::array out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const json::object& o = items[i].get_object();
        std::string snap_id = str(snaps[i]->at("id"));
        const json::object& file = *state_.view("files").find(snap_id);
        std::uint64_t size = static_cast<std::uint64_t>(file.at("size").as_int64());
        std::string snap_path = str(file.at("path"));
        json::object lun = add_lun(str(o.at("iscsi_target_id")), str(o.at("name")), size);
        std::string lun_id = str(lun.at("id"));
        copy_volume(snap_path, lun_path(lun), size);
        std::uint64_t allocated = 0;
        for (auto [off, len] : allocated_extents(lun_path(lun), size)) allocated += len;
        lun["unique_size"] = static_cast<std::int64_t>(allocated);
        (*state_.edit("iscsi_luns").find(lun_id))["unique_size"] = lun["unique_size"];
        std::string task = lun_task("Clone iSCSI LUN " + str(lun.at("name")) + " from snapshot " + str(snaps[i]->at("name")),
                                    lun_id, "cloneIscsiLunFromSnapshot", fail_task);
        out.push_back(new_lun_line(std::move(lun), task, fail_task));
    }
    return out;
}

json::value Simulator::op_create_iscsi_lun(const json::value& body, bool fail_task) {
    const json::array& items = request_entries(body);
    std::vector<std::uint64_t> sizes;
    for (const auto& e : items) {
        const json::object& o = e.get_object();
        std::string target_id = need_string(o, "iscsi_target_id");
        need_string(o, "name");
        if (!state_.view("iscsi_targets").find(target_id))
            throw ApiError{404, "iSCSI target " + target_id + " not found", ""};
        auto as = o.find("assigned_size");
        if (as == o.end() || !(as->value().is_int64() || as->value().is_uint64()) ||
            json::value_to<std::int64_t>(as->value()) <= 0)
            throw std::invalid_argument("assigned_size is required and must be a positive integer");
        auto unit = o.find("assigned_size_unit");
        std::uint64_t bytes = json::value_to<std::uint64_t>(as->value()) *
                              byte_unit(unit != o.end() && unit->value().is_string() ? str(unit->value()) : "B", "assigned_size_unit");
        if (bytes % 512 != 0) throw std::invalid_argument("the LUN size must be a multiple of 512 bytes");
        sizes.push_back(bytes);
    }
    json::array out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const json::object& o = items[i].get_object();
        json::object lun = add_lun(str(o.at("iscsi_target_id")), str(o.at("name")), sizes[i]);
        std::string lun_id = str(lun.at("id"));
        ensure_volume(lun_path(lun), sizes[i]);
        std::string task = lun_task("Create iSCSI LUN " + str(lun.at("name")), lun_id, "createIscsiLun", fail_task);
        out.push_back(new_lun_line(std::move(lun), task, fail_task));
    }
    return out;
}

json::value Simulator::op_delete_iscsi_lun(const json::value& body, bool fail_task) {
    if (!body.is_object()) throw std::invalid_argument("request body must be a JSON object");
    const json::object& req = body.get_object();
    if (!req.contains("where") || !req.at("where").is_object())
        throw std::invalid_argument("where is required and must be an object");
    if (!req.contains("data") || !req.at("data").is_object() || !req.at("data").as_object().contains("remove_snapshot"))
        throw std::invalid_argument("data.remove_snapshot is required");
    json::object query{{"where", req.at("where")}};
    std::vector<json::object> matched;
    for (const json::object* l : apply_query(state_.view("iscsi_luns").all(), query, resolver())) {
        for (const auto& v : state_.view("vm_volumes").items())
            if (v.at("lun").is_object() && v.at("lun").at("id") == l->at("id"))
                throw ApiError{400, "iSCSI LUN " + str(l->at("name")) + " backs VM volume " + str(v.at("name")) +
                                        " and cannot be deleted",
                               ""};
        matched.push_back(*l);
    }
    json::array out;
    for (const auto& lun : matched) {
        std::string id = str(lun.at("id"));
        std::string task = lun_task("Delete iSCSI LUN " + str(lun.at("name")), id, "deleteIscsiLun", fail_task);
        if (!fail_task) remove_lun(id);
        out.push_back(json::object{{"task_id", task}, {"data", json::object{{"id", id}}}});
    }
    return out;
}

}  // namespace sim

namespace sim {

// update-iscsi-lun: name, allowed_initiators, growing assigned_size and the
// QoS numbers; a datastore LUN follows its allowed_initiators in tgtd at once.
json::value Simulator::op_update_iscsi_lun(const json::value& body, bool fail_task) {
    const json::object& req = request_object(body);
    const json::value* where = req.if_contains("where");
    const json::value* data = req.if_contains("data");
    if (!where || !where->is_object()) throw std::invalid_argument("where is required and must be an object");
    if (!data || !data->is_object()) throw std::invalid_argument("data is required and must be an object");
    const json::object& d = data->get_object();
    std::optional<std::uint64_t> size;
    if (const json::value* as = d.if_contains("assigned_size")) {
        if (!(as->is_int64() || as->is_uint64()) || json::value_to<std::int64_t>(*as) <= 0)
            throw std::invalid_argument("assigned_size must be a positive integer");
        size = json::value_to<std::uint64_t>(*as) * byte_unit(str_or(d, "assigned_size_unit", "B"), "assigned_size_unit");
        if (*size % 512 != 0) throw std::invalid_argument("the LUN size must be a multiple of 512 bytes");
    }
    for (const auto& [key, value] : d) {
        bool known = key == "name" || key == "allowed_initiators" || key.starts_with("bps") ||
                     key.starts_with("iops") || key.starts_with("assigned_size");
        if (!known) throw std::invalid_argument("update-iscsi-lun: unknown data field " + std::string(key));
        if ((key == "name" || key == "allowed_initiators" || key.ends_with("_unit")) && !value.is_string())
            throw std::invalid_argument(std::string(key) + " must be a string");
    }
    std::vector<std::string> ids;
    for (const json::object* l : apply_query(state_.view("iscsi_luns").all(), json::object{{"where", *where}}, resolver())) {
        if (size && *size < static_cast<std::uint64_t>(l->at("assigned_size").as_int64()))
            throw std::invalid_argument("iSCSI LUN " + str(l->at("name")) + " cannot shrink");
        ids.push_back(str(l->at("id")));
    }
    json::array out;
    for (const auto& id : ids) {
        json::object before = *state_.view("iscsi_luns").find(id);
        if (!fail_task) {
            // tgtd changes only when the LUN's served state flips or its size
            // grows: an ACL change alone must not pull a LUN an initiator uses.
            bool was_served = served(before);
            bool resized = size && static_cast<std::int64_t>(*size) != before.at("assigned_size").as_int64();
            json::object& lun = *state_.edit("iscsi_luns").find(id);
            for (const auto& [key, value] : d)
                if (!key.ends_with("_unit") && key != "assigned_size") lun[key] = value;
            if (size) {
                lun["assigned_size"] = static_cast<std::int64_t>(*size);
                json::object& file = *state_.edit("files").find(id);
                file["size"] = static_cast<std::int64_t>(*size);
                ensure_volume(str(file.at("path")), *size);
                for (auto& vol : state_.edit("vm_volumes").items())  // a VM volume grows with its LUN
                    if (vol.at("lun").is_object() && is(vol.at("lun").at("id"), id))
                        vol["size"] = static_cast<std::int64_t>(*size);
            }
            json::object* target = state_.edit("iscsi_targets").find(str(lun.at("iscsi_target").at("id")));
            for (auto& ref : target->at("luns").as_array())
                if (is(ref.at("id"), id)) ref = nested(lun);
            bool now_served = served(lun);
            if (was_served && (!now_served || resized)) unexport_lun(before);
            update_datastore_acl(*target);
            if (now_served && (!was_served || resized)) export_lun(lun);
        }
        const json::object& now = *state_.view("iscsi_luns").find(id);
        std::string task = lun_task("Update iSCSI LUN " + str(now.at("name")), id, "updateIscsiLun", fail_task);
        out.push_back(json::object{{"task_id", task}, {"data", now}});
    }
    return out;
}

}  // namespace sim

namespace sim {

namespace {

// The fields of IscsiTargetCreationParams the simulator keeps, checked by type.
void check_target_params(const json::object& o) {
    for (const char* key : {"stripe_size", "stripe_num", "replica_num"}) need_int(o, key);
    const json::value* thin = o.if_contains("thin_provision");
    if (!thin || !thin->is_bool()) throw std::invalid_argument("thin_provision is required and must be a boolean");
    for (const char* key : {"iqn_whitelist", "ip_whitelist", "description", "chap_name", "chap_secret"})
        if (const json::value* v = o.if_contains(key); v && !v->is_string())
            throw std::invalid_argument(std::string(key) + " must be a string");
    if (const json::value* v = o.if_contains("chap_enabled"); v && !v->is_bool())
        throw std::invalid_argument("chap_enabled must be a boolean");
    if (const json::value* v = o.if_contains("initiator_chaps")) {
        if (!v->is_array()) throw std::invalid_argument("initiator_chaps must be an array");
        for (const auto& c : v->get_array()) {
            if (!c.is_object()) throw std::invalid_argument("initiator_chaps entries must be objects");
            for (const char* key : {"initiator_iqn", "chap_name", "chap_secret"}) need_string(c.get_object(), key);
        }
    }
}

}  // namespace

// One tgtd serves every cluster, so IQNs must differ across clusters: a
// target named like one of another cluster gets the cluster in its IQN.
std::string Simulator::free_iqn(const std::string& name, const std::string& cluster,
                                const std::vector<json::object>& pending) const {
    auto taken = [&](const std::string& iqn) {
        for (const auto& t : state_.view("iscsi_targets").items())
            if (is(t.at("iqn_name"), iqn)) return true;
        for (const auto& s : pending)
            if (is(s.at("iqn_name"), iqn)) return true;
        return false;
    };
    std::string iqn = kIqnPrefix + name;
    for (int n = 2; taken(iqn); ++n) {
        iqn = kIqnPrefix + cluster + "-" + name;
        if (n > 2) (iqn += '-') += std::to_string(n);  // appended: "-" + a temporary trips GCC 12's -Wrestrict
    }
    return iqn;
}

// create-iscsi-target: one external target per entry on the cluster of
// cluster_id, with the whitelists and CHAP asked for, served by tgtd at once.
// A name the cluster already has is refused (400), and nothing is created.
json::value Simulator::op_create_iscsi_target(const json::value& body, bool fail_task) {
    const json::array& items = request_entries(body);
    std::vector<json::object> specs;
    for (const auto& e : items) {
        const json::object& o = e.get_object();
        std::string name = need_string(o, "name");
        std::string cluster_id = need_string(o, "cluster_id");
        check_target_params(o);
        const json::object* cluster = state_.view("clusters").find(cluster_id);
        if (!cluster) throw ApiError{404, "cluster " + cluster_id + " not found", ""};
        auto same = [&](const json::object& t) { return str(t.at("name")) == name && is(t.at("cluster").at("id"), cluster_id); };
        bool taken = std::any_of(specs.begin(), specs.end(), [&](const json::object& s) {
            return str(s.at("name")) == name && is(s.at("cluster_id"), cluster_id);
        });
        for (const auto& t : state_.view("iscsi_targets").items()) taken = taken || same(t);
        if (taken)
            throw ApiError{400, "an iSCSI target named " + name + " exists on cluster " + str(cluster->at("name")), ""};
        json::object spec = o;
        spec["cluster"] = cluster->at("name");
        spec["iqn_name"] = free_iqn(name, str(cluster->at("name")), specs);
        specs.push_back(std::move(spec));
    }
    json::array out;
    for (const auto& spec : specs) {
        json::object& t = add_target(spec);
        for (const char* key : {"stripe_size", "stripe_num", "replica_num", "thin_provision"}) t[key] = spec.at(key);
        std::string id = str(t.at("id"));
        std::string task = new_task("Create iSCSI target " + str(t.at("name")), "IscsiTarget", id, "createIscsiTarget",
                                    json::value(t.at("cluster")), fail_task, fail_task ? "SimInjectedFailure" : "",
                                    fail_task ? "task failed (injected by hci-sim /_sim/faults)" : "");
        json::object data = t;
        auto forget = [&] { state_.edit("iscsi_targets").remove_if([&](const json::object& o) { return is(o.at("id"), id); }); };
        if (fail_task) {
            forget();
        } else if (tgtd_ && tgtd_->running()) {
            try {
                serve_target(t);
            } catch (...) {
                forget();
                throw;
            }
        }
        out.push_back(json::object{{"task_id", task}, {"data", std::move(data)}});
    }
    return out;
}

}  // namespace sim
