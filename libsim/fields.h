#pragma once
// Reading fields of scenario specs and request bodies: optional fields with a
// fallback, array/object bodies, byte units (need_string, str, nested: simulator.h).
#include <boost/json.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sim {

namespace json = boost::json;

inline std::string str_or(const json::object& o, std::string_view key, const std::string& fallback) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : fallback;
}

inline bool bool_or(const json::object& o, std::string_view key, bool fallback) {
    const json::value* v = o.if_contains(key);
    return v && v->is_bool() ? v->get_bool() : fallback;
}

// A number field (integers, or doubles truncated); absent or null gives the fallback.
inline std::int64_t int_or(const json::object& o, std::string_view key, std::int64_t fallback) {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return fallback;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    throw std::invalid_argument(std::string(key) + " must be a number");
}

// Throws std::invalid_argument unless a NIC spec's mac_address (if any) and model are valid.
void check_nic_fields(const json::object& spec);

// The entries of a request body that is a JSON array of objects.
inline const json::array& request_entries(const json::value& body) {
    if (!body.is_array()) throw std::invalid_argument("request body must be a JSON array");
    for (const auto& e : body.get_array())
        if (!e.is_object()) throw std::invalid_argument("request entries must be objects");
    return body.get_array();
}

// A request body that must be a JSON object (null counts as empty).
inline const json::object& request_object(const json::value& body) {
    static const json::object empty;
    if (body.is_null()) return empty;
    if (!body.is_object()) throw std::invalid_argument("request body must be a JSON object");
    return body.get_object();
}

// Bytes in one ByteUnit (B KB MB GB TB PB, powers of 1024); `what` names the field.
inline std::uint64_t byte_unit(const std::string& unit, std::string_view what) {
    static const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    std::uint64_t m = 1;
    for (const char* u : units) {
        if (unit == u) return m;
        m *= 1024;
    }
    throw std::invalid_argument(std::string(what) + " must be one of B KB MB GB TB PB");
}

}  // namespace sim
