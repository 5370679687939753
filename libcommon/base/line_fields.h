#pragma once
// The fields of the JSON lines that travel between the tools (hci-backup(7)
// describes each line), named once as JSON pointers, and the accessors that
// read them, and the fields of API objects, on Boost.JSON's find_pointer.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hci {

namespace json = boost::json;

namespace line {
// hci-vm-get: CloudTower Vm objects.
inline constexpr std::string_view kId = "/id";
inline constexpr std::string_view kName = "/name";
inline constexpr std::string_view kVmToolsStatus = "/vm_tools_status";
// hci-snap-create, passed on by hci-task-wait: the task and what it makes.
inline constexpr std::string_view kTaskId = "/task_id";
inline constexpr std::string_view kData = "/data";
inline constexpr std::string_view kDataId = "/data/id";
inline constexpr std::string_view kVm = "/vm";
inline constexpr std::string_view kVmName = "/vm/name";
// hci-snap-luns: one frozen disk of a VM snapshot.
inline constexpr std::string_view kVmSnapshot = "/vm_snapshot";
inline constexpr std::string_view kVmSnapshotId = "/vm_snapshot/id";
inline constexpr std::string_view kDisk = "/disk";
inline constexpr std::string_view kDiskIndex = "/disk/index";
inline constexpr std::string_view kLunSnapshot = "/lun_snapshot";
inline constexpr std::string_view kLunSnapshotId = "/lun_snapshot/id";
inline constexpr std::string_view kLunSnapshotName = "/lun_snapshot/name";
// hci-lun-export: where the clone can be read.
inline constexpr std::string_view kExport = "/export";
inline constexpr std::string_view kExportUrl = "/export/url";
inline constexpr std::string_view kExportLunId = "/export/lun/id";
// Lines zadp-read also takes: a bare source or url.
inline constexpr std::string_view kSource = "/source";
inline constexpr std::string_view kUrl = "/url";
}  // namespace line

// The value at `pointer` ("/vm/name"), or null when any step is missing.
const json::value* find_field(const json::object& object, std::string_view pointer);
// The string there, or nullopt when missing or not a string.
std::optional<std::string> string_field(const json::object& object, std::string_view pointer);
// For messages and map keys: a string as it is, "" for null or missing,
// anything else serialized ("3" for disk.index 3).
std::string text_field(const json::object& object, std::string_view pointer);

}  // namespace hci
