#pragma once
// Identifiers and timestamps shaped like CloudTower's.
#include <cstdint>
#include <string>

namespace sim {

// A cuid-like CloudTower id ("cl" + base36 time + counter + random); ids made
// later sort after earlier ones, so id order is creation order.
std::string new_cuid();
// A random RFC 4122 version 4 UUID, as ZBS and ELF use for local ids.
std::string new_uuid();
// Milliseconds since the epoch.
std::int64_t now_ms();
// "2026-11-25T14:41:44.123Z" for a millisecond timestamp.
std::string iso_time(std::int64_t ms);
inline std::string iso_now() { return iso_time(now_ms()); }

}  // namespace sim
