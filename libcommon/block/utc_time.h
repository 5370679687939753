#pragma once
#include <string>

namespace hci {

// The current time as ISO 8601 UTC, "2026-11-28T02:00:00Z": stream
// identities and repository records use it.
std::string utc_now();

}  // namespace hci
