#include "lun_export.h"

#include <map>

#include "libcommon/api/initiators.h"
#include "libcommon/base/initiator_iqn.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"
#include "export_chap.h"
#include "export_naming.h"

namespace hci {
namespace {

// Ctrl-C while clones are being made: remove this batch's clones (earlier
// batches were written out and belong to whoever reads our output).
void remove_clones(CloudTower& tower, const std::vector<std::string>& lun_ids) {
    json::array ids;
    for (const auto& id : lun_ids)
        if (!id.empty()) ids.emplace_back(id);
    if (ids.empty()) return;
    log_warning("interrupted: removing the " + std::to_string(ids.size()) + " clone LUN(s) of this batch");
    try {
        tower.remove("delete-iscsi-lun", json::object{{"where", json::object{{"id_in", ids}}},
                                                      {"data", json::object{{"remove_snapshot", false}}}});
    } catch (const Error& e) {
        log_error(std::string("could not remove them (find them with hci-lun-unexport --stale): ") + e.what());
    }
}

}  // namespace

ExportTarget resolve_export_target(CloudTower& tower, const LunExportOptions& options) {
    json::array found = tower.query_all(
        "get-iscsi-targets",
        json::object{{"OR", json::array{json::object{{"id", options.target}}, json::object{{"name", options.target}}}}});
    if (found.empty()) fail(kExitNotFound, "no iSCSI target named (or with id) " + options.target);
    if (found.size() > 1)
        fail(kExitNotFound, std::to_string(found.size()) + " iSCSI targets are named " + options.target + "; give its id");
    const json::object& t = found[0].as_object();
    ExportTarget result;
    result.target = json::object{{"id", t.at("id")}, {"name", t.at("name")}, {"iqn_name", t.at("iqn_name")}};
    result.iqn_whitelist = text_field(t, "/iqn_whitelist");

    if (!options.initiator_iqn.empty() && !iqn_whitelist_admits(text_field(t, "/iqn_whitelist"), options.initiator_iqn))
        log_warning("iSCSI target " + text_field(t, "/name") + " does not admit initiator " + options.initiator_iqn +
                    " (iqn_whitelist \"" + text_field(t, "/iqn_whitelist") + "\"); logins from it will be refused");

    result.chap_user = chap_user_for(t, options.initiator_iqn, options.chap_user);
    result.portal = options.portal;
    if (result.portal.empty()) {
        auto cluster_id = string_field(t, "/cluster/id");
        if (!cluster_id) fail(kExitApi, "iSCSI target " + text_field(t, "/name") + " names no cluster; give --portal");
        json::array clusters = tower.query_all("get-clusters", json::object{{"id", *cluster_id}});
        if (clusters.empty()) fail(kExitNotFound, "no cluster with id " + *cluster_id);
        result.cluster = json::object{{"id", *cluster_id}, {"name", text_field(clusters[0].as_object(), "/name")}};
        result.portal = text_field(clusters[0].as_object(), "/iscsi_vip");
        if (result.portal.empty())
            fail(kExitUsage, "cluster " + text_field(clusters[0].as_object(), "/name") + " has no iscsi_vip; give --portal HOST[:PORT]");
    }
    return result;
}

int check_export_target(CloudTower& tower, LunExportOptions options, LineWriter& out) {
    if (options.initiator_iqn.empty()) options.initiator_iqn = default_initiator_iqn();
    ExportTarget t = resolve_export_target(tower, options);
    const bool admitted = iqn_whitelist_admits(t.iqn_whitelist, options.initiator_iqn);
    out.write(json::object{{"target", t.target},
                           {"cluster", t.cluster.empty() ? json::value() : json::value(t.cluster)},
                           {"portal", t.portal},
                           {"initiator_iqn", options.initiator_iqn},
                           {"iqn_whitelist", t.iqn_whitelist},
                           {"admitted", admitted},
                           {"chap_user", t.chap_user.empty() ? json::value() : json::value(t.chap_user)}});
    return admitted ? kExitOk : kExitPartial;
}

void export_luns(CloudTower& tower, const ExportTarget& where, const std::vector<InputLine>& batch,
                 const LunExportOptions& options, LineReader& reader, LineWriter& out, RunStatus& status) {
    std::vector<const InputLine*> lines;
    json::array clones;
    for (const auto& line : batch) {
        auto snapshot_id = string_field(line.object, line::kLunSnapshotId);
        auto snapshot_name = string_field(line.object, line::kLunSnapshotName);
        const json::value* index = find_field(line.object, line::kDiskIndex);
        if (!snapshot_id || !snapshot_name) {
            reader.reject(line.number, "not an hci-snap-luns line: no lun_snapshot.id and .name");
            continue;
        }
        long disk_index = index && index->is_number() ? static_cast<long>(index->to_number<double>()) : 0;
        std::string name = clone_lun_name(options.prefix, string_field(line.object, line::kVmName).value_or("vm"),
                                          disk_index, *snapshot_name);
        clones.push_back(json::object{
            {"iscsi_target_id", where.target.at("id")}, {"name", name}, {"snapshot_id", *snapshot_id}});
        lines.push_back(&line);
    }
    if (lines.empty()) return;

    json::value response = tower.mutate("clone-iscsi-lun-from-snapshot", clones);
    if (!response.is_array() || response.as_array().size() != lines.size())
        fail(kExitApi, "clone-iscsi-lun-from-snapshot: expected " + std::to_string(lines.size()) + " results");
    std::vector<std::string> lun_ids, task_ids;
    for (const auto& r : response.as_array()) {
        lun_ids.push_back(r.is_object() ? string_field(r.as_object(), line::kDataId).value_or("") : "");
        task_ids.push_back(r.is_object() ? string_field(r.as_object(), line::kTaskId).value_or("") : "");
    }
    std::map<std::string, TaskOutcome> outcomes;
    try {
        outcomes = wait_for_tasks(tower, task_ids, options.wait_settings);
    } catch (const Interrupted&) {
        remove_clones(tower, lun_ids);
        throw;
    }

    json::array ids;
    for (const auto& id : lun_ids) ids.emplace_back(id);
    std::map<std::string, json::object> luns;
    for (auto& l : tower.query_all("get-iscsi-luns", json::object{{"id_in", ids}}))
        if (l.is_object()) luns[text_field(l.as_object(), "/id")] = std::move(l.as_object());

    for (std::size_t i = 0; i < lines.size(); ++i) {
        const json::object& line = lines[i]->object;
        const std::string index = text_field(line, line::kDiskIndex);
        const std::string context = line_context(line) + ", disk " + (index.empty() ? "?" : index);
        auto outcome = outcomes.find(task_ids[i]);
        if (outcome != outcomes.end() && outcome->second.status != TaskOutcome::kSucceeded) {
            log_error("exporting " + context + ": " + outcome->second.describe());
            status.note(exit_code_for(outcome->second));
            continue;
        }
        auto lun = luns.find(lun_ids[i]);
        const json::value* lun_id = lun != luns.end() ? lun->second.if_contains("lun_id") : nullptr;
        if (!lun_id || !lun_id->is_number()) {
            log_error("exporting " + context + ": the cloned LUN " + lun_ids[i] + " cannot be read back");
            status.note(kExitNotFound);
            continue;
        }
        const long number = static_cast<long>(lun_id->to_number<double>());
        json::object result = line;
        result["export"] = json::object{
            {"lun", json::object{{"id", lun->second.at("id")}, {"name", lun->second.at("name")}, {"lun_id", number}}},
            {"target", where.target},
            {"url", with_chap_user(iscsi_export_url(where.portal, text_field(where.target, "/iqn_name"), number),
                                   where.chap_user)}};
        out.write(result);
    }
}

}  // namespace hci
