#pragma once
#include <string>

namespace hci {

// The current time in UTC, by default ISO 8601 ("2026-11-28T02:00:00Z", as
// stream identities and repository records have it); `format` is strftime's.
std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace hci
