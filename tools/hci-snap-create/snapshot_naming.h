#pragma once
// How hci-snap-create names and types snapshots; pure functions, unit-tested.
#include <ctime>
#include <string>

namespace hci {

enum class Consistency { kCrash, kFileSystem, kAuto };
Consistency parse_consistency(const std::string& text);

// The consistent_type for a VM: auto picks FILE_SYSTEM_CONSISTENT only while
// the VM's tools are RUNNING (otherwise the snapshot task would fail).
std::string consistent_type_for(Consistency wanted, const std::string& vm_tools_status);

// Expands {vm}, {id}, {timestamp} (20250101T120000Z), {date} (2025-01-01) and
// {{ / }} in a snapshot name template; an unknown placeholder is a usage error.
std::string expand_name_template(const std::string& name_template, const std::string& vm_name,
                                 const std::string& vm_id, std::time_t now);
// The template itself when it expands to a name; usage error otherwise.
std::string checked_name_template(const std::string& name_template);

}  // namespace hci
