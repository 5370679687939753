#pragma once
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"
#include "libcommon/base/json_lines.h"
#include "libcommon/api/pipeline.h"

namespace hci {

// What the user asked for in one batch. A token is a bare word from stdin that
// may be a name or an id; both are looked up in the same query.
struct VmSelection {
    std::vector<std::string> names;
    std::vector<std::string> ids;
    std::vector<std::string> tokens;
    bool empty() const { return names.empty() && ids.empty() && tokens.empty(); }
};

struct VmGetOptions {
    json::value where;    // --where, ANDed with the selection (null = none)
    bool unique = false;  // --unique
    bool full = false;    // --full: disks, volumes, NICs and VLANs resolved (vm_full.h)
};

// Queries the VMs of one selection (all pages), writes them, and notes names
// or ids that matched nothing (kExitNotFound) or, with unique, more than one VM.
void get_vms(CloudTower& tower, const VmSelection& selection, const VmGetOptions& options,
             LineWriter& out, RunStatus& status);

// Every VM matching options.where (all VMs when it is null), streamed page by page.
void list_vms(CloudTower& tower, const VmGetOptions& options, LineWriter& out, RunStatus& status);

// One stdin line: a JSON object with id or name, or a bare name/id.
// A stdin line naming a VM (a name, an id or a JSON object with one) is at
// most this long; CloudTower's names are far shorter.
inline constexpr std::size_t kMaxNameBytes = 1024;

// --where's JSON object; usage error for anything else.
json::object parse_where(const std::string& text);

void add_stdin_line(const std::string& text, VmSelection& selection, LineReader& reader);

}  // namespace hci
