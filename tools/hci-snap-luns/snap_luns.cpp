#include "snap_luns.h"

#include <map>
#include <set>

#include "libcommon/base/log.h"

namespace hci {
namespace {

json::object pick(const json::object& from, std::initializer_list<const char*> keys) {
    json::object out;
    for (const char* key : keys)
        if (const json::value* v = from.if_contains(key)) out[key] = *v;
    return out;
}

struct SnapshotDisks {
    json::object vm;
    json::object vm_snapshot;
    std::vector<json::object> disks;  // frozen DISKs, CD-ROMs skipped
};

}  // namespace

json::object disk_summary(const json::object& frozen_disk) {
    return pick(frozen_disk, {"index", "bus", "boot", "size", "path", "disk_name", "vm_volume_local_id",
                              "snapshot_local_id"});
}

void resolve_snapshot_luns(CloudTower& tower, const std::vector<InputLine>& batch, LineReader& reader,
                           LineWriter& out, RunStatus& status) {
    std::vector<std::string> order;  // snapshot ids in input order, once each
    std::set<std::string> wanted;
    for (const auto& line : batch) {
        auto id = vm_snapshot_id_of(line.object);
        if (!id) {
            reader.reject(line.number, "no VM snapshot id (vm_snapshot.id, data.id or id) in the line");
            continue;
        }
        if (wanted.insert(*id).second) order.push_back(*id);
    }
    if (wanted.empty()) return;

    std::map<std::string, json::object> snapshots;
    for (auto& s : tower.query_all("get-vm-snapshots", json::object{{"id_in", json::value_from(wanted)}}))
        if (s.is_object()) snapshots[text_field(s.as_object(), "/id")] = std::move(s.as_object());

    std::map<std::string, SnapshotDisks> resolved;
    std::set<std::string> lun_names;
    for (const auto& id : order) {
        auto it = snapshots.find(id);
        if (it == snapshots.end()) {
            log_error("no VM snapshot with id " + id);
            status.note(kExitNotFound);
            continue;
        }
        const json::object& snap = it->second;
        SnapshotDisks sd;
        if (const json::value* vm = snap.if_contains("vm"); vm && vm->is_object()) sd.vm = pick(vm->as_object(), {"id", "name"});
        sd.vm_snapshot = pick(snap, {"id", "name", "local_id", "consistent_type", "local_created_at", "size", "cluster"});
        const std::string where = "vm " + text_field(sd.vm, "/name") + ", snapshot " + text_field(snap, "/name") + " (" + id + ")";
        bool ok = true;
        const json::value* disks = snap.if_contains("vm_disks");
        if (disks && disks->is_array()) {
            for (const auto& d : disks->as_array()) {
                if (!d.is_object() || text_field(d.as_object(), "/type") == "CD_ROM") continue;
                const json::object& disk = d.as_object();
                std::string local_id = text_field(disk, "/snapshot_local_id");
                if (local_id.empty() || local_id == "null") {
                    log_error(where + ", disk " + text_field(disk, "/index") + ": the frozen disk has no snapshot_local_id");
                    ok = false;
                    continue;
                }
                lun_names.insert(local_id);
                sd.disks.push_back(disk);
            }
        }
        if (!ok) {
            status.note(kExitNotFound);
            continue;
        }
        if (sd.disks.empty()) log_warning(where + ": the snapshot has no DISK; nothing to back up");
        resolved[id] = std::move(sd);
    }
    if (resolved.empty()) return;

    std::map<std::string, json::object> luns_by_name;
    if (!lun_names.empty())
        for (auto& l : tower.query_all("get-iscsi-lun-snapshots", json::object{{"name_in", json::value_from(lun_names)}}))
            if (l.is_object()) luns_by_name[text_field(l.as_object(), "/name")] = std::move(l.as_object());

    for (const auto& id : order) {
        auto it = resolved.find(id);
        if (it == resolved.end()) continue;
        const SnapshotDisks& sd = it->second;
        bool ok = true;
        for (const auto& disk : sd.disks) {
            if (!luns_by_name.count(text_field(disk, "/snapshot_local_id"))) {
                log_error("vm " + text_field(sd.vm, "/name") + ", snapshot " + text_field(sd.vm_snapshot, "/name") + " (" + id +
                          "), disk " + text_field(disk, "/index") + ": no iSCSI LUN snapshot named " +
                          text_field(disk, "/snapshot_local_id"));
                ok = false;
            }
        }
        if (!ok) {
            status.note(kExitNotFound);
            continue;
        }
        for (const auto& disk : sd.disks) {
            out.write(json::object{{"vm", sd.vm},
                                   {"vm_snapshot", sd.vm_snapshot},
                                   {"disk", disk_summary(disk)},
                                   {"lun_snapshot", luns_by_name[text_field(disk, "/snapshot_local_id")]}});
        }
    }
}

}  // namespace hci
