#include "libsim/where.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace sim {
namespace {

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double as_double(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return v.get_double();
}

bool values_equal(const json::value& a, const json::value& b) {
    if (is_number(a) && is_number(b)) {
        if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
        if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
        return json::value_to<long double>(a) == json::value_to<long double>(b);
    }
    return a == b;
}

const json::value kNull;

const json::value& field_of(const json::object& obj, std::string_view name) {
    auto it = obj.find(name);
    return it == obj.end() ? kNull : it->value();
}

const json::array& as_list(const json::value& v, std::string_view what) {
    if (!v.is_array()) throw std::invalid_argument(std::string(what) + " needs an array");
    return v.get_array();
}

// The operators a where key can end with, longest first so "_not_in" wins over "_in".
constexpr std::array<std::string_view, 16> kSuffixes = {
    "_not_starts_with", "_not_ends_with", "_not_contains", "_starts_with", "_ends_with", "_contains",
    "_not_in", "_every", "_some", "_none", "_not", "_gte", "_lte", "_in", "_gt", "_lt"};

bool relation_matches(const json::value& nested, std::string_view field, const json::object& where,
                      const Resolver& resolve) {
    if (!nested.is_object()) return false;
    const json::object& small = nested.get_object();
    if (resolve) {
        for (const auto& kv : where) {
            if (!small.contains(kv.key()) && kv.key() != "AND" && kv.key() != "OR" && kv.key() != "NOT") {
                if (const json::object* full = resolve(field, small)) return where_matches(*full, where, resolve);
                break;
            }
        }
    }
    return where_matches(small, where, resolve);
}

bool string_op(const json::value& field, const json::value& arg, std::string_view op) {
    if (!field.is_string() || !arg.is_string()) return false;
    std::string_view s = field.get_string(), a = arg.get_string();
    if (op == "contains") return s.find(a) != std::string_view::npos;
    if (op == "starts_with") return s.starts_with(a);
    return s.ends_with(a);
}

bool in_list(const json::value& field, const json::value& list) {
    for (const auto& v : as_list(list, "_in")) {
        if (values_equal(field, v)) return true;
    }
    return false;
}

// One `key: arg` pair whose key carries an operator suffix.
bool operator_matches(const json::object& obj, std::string_view field, std::string_view op,
                      const json::value& arg, const Resolver& resolve) {
    const json::value& v = field_of(obj, field);
    if (op == "_not") {
        if (arg.is_object()) return !relation_matches(v, field, arg.get_object(), resolve);
        return !values_equal(v, arg);
    }
    if (op == "_in") return !v.is_null() && in_list(v, arg);
    if (op == "_not_in") return v.is_null() || !in_list(v, arg);
    if (op == "_contains") return string_op(v, arg, "contains");
    if (op == "_not_contains") return !string_op(v, arg, "contains");
    if (op == "_starts_with") return string_op(v, arg, "starts_with");
    if (op == "_not_starts_with") return !string_op(v, arg, "starts_with");
    if (op == "_ends_with") return string_op(v, arg, "ends_with");
    if (op == "_not_ends_with") return !string_op(v, arg, "ends_with");
    if (op == "_gt" || op == "_gte" || op == "_lt" || op == "_lte") {
        if (v.is_null() || arg.is_null()) return false;
        if (is_number(v) != is_number(arg)) return false;
        int c = compare_values(v, arg);
        if (op == "_gt") return c > 0;
        if (op == "_gte") return c >= 0;
        if (op == "_lt") return c < 0;
        return c <= 0;
    }
    // _some / _every / _none over a list relation.
    if (!arg.is_object()) throw std::invalid_argument(std::string(field) + std::string(op) + " needs an object");
    const json::object& sub = arg.get_object();
    const json::array empty;
    const json::array& list = v.is_array() ? v.get_array() : empty;
    auto pred = [&](const json::value& e) { return relation_matches(e, field, sub, resolve); };
    if (op == "_some") return std::any_of(list.begin(), list.end(), pred);
    if (op == "_every") return std::all_of(list.begin(), list.end(), pred);
    return std::none_of(list.begin(), list.end(), pred);
}

bool key_matches(const json::object& obj, std::string_view key, const json::value& arg, const Resolver& resolve) {
    if (key == "AND" || key == "OR" || key == "NOT") {
        std::vector<const json::object*> subs;
        if (arg.is_object()) {
            subs.push_back(&arg.get_object());
        } else if (arg.is_array()) {
            for (const auto& e : arg.get_array()) {
                if (!e.is_object()) throw std::invalid_argument(std::string(key) + " entries must be objects");
                subs.push_back(&e.get_object());
            }
        } else if (arg.is_null()) {
            return true;
        } else {
            throw std::invalid_argument(std::string(key) + " needs an object or an array");
        }
        auto pred = [&](const json::object* w) { return where_matches(obj, *w, resolve); };
        if (key == "AND") return std::all_of(subs.begin(), subs.end(), pred);
        if (key == "OR") return std::any_of(subs.begin(), subs.end(), pred);
        return std::none_of(subs.begin(), subs.end(), pred);
    }
    // A key that names a field as it is (even one ending like an operator) is equality.
    if (obj.contains(key) || std::none_of(kSuffixes.begin(), kSuffixes.end(),
                                          [&](std::string_view s) { return key.ends_with(s); })) {
        const json::value& v = field_of(obj, key);
        if (arg.is_object()) return relation_matches(v, key, arg.get_object(), resolve);
        return values_equal(v, arg);
    }
    for (std::string_view suffix : kSuffixes) {
        if (key.size() > suffix.size() && key.ends_with(suffix)) {
            return operator_matches(obj, key.substr(0, key.size() - suffix.size()), suffix, arg, resolve);
        }
    }
    return false;
}

}  // namespace

int compare_values(const json::value& a, const json::value& b) {
    if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? -1 : 1);
    if (is_number(a) && is_number(b)) {
        double x = as_double(a), y = as_double(b);
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_string() && b.is_string()) {
        int c = a.get_string().subview().compare(b.get_string().subview());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    if (a.is_bool() && b.is_bool()) return int(a.get_bool()) - int(b.get_bool());
    std::string sa = json::serialize(a), sb = json::serialize(b);
    return sa < sb ? -1 : (sa > sb ? 1 : 0);
}

bool where_matches(const json::object& obj, const json::object& where, const Resolver& resolve) {
    for (const auto& kv : where) {
        if (!key_matches(obj, kv.key(), kv.value(), resolve)) return false;
    }
    return true;
}

void order_by(std::vector<const json::object*>& items, std::string_view order) {
    bool desc;
    std::string_view field;
    if (order.ends_with("_ASC")) {
        desc = false;
        field = order.substr(0, order.size() - 4);
    } else if (order.ends_with("_DESC")) {
        desc = true;
        field = order.substr(0, order.size() - 5);
    } else {
        throw std::invalid_argument("orderBy must end with _ASC or _DESC: " + std::string(order));
    }
    std::stable_sort(items.begin(), items.end(), [&](const json::object* a, const json::object* b) {
        int c = compare_values(field_of(*a, field), field_of(*b, field));
        return desc ? c > 0 : c < 0;
    });
}

namespace {

std::int64_t int_arg(const json::object& request, std::string_view name, std::int64_t fallback) {
    const json::value& v = field_of(request, name);
    if (v.is_null()) return fallback;
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
    throw std::invalid_argument(std::string(name) + " must be an integer");
}

std::size_t position_of(const std::vector<const json::object*>& items, const json::value& id) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (field_of(*items[i], "id") == id) return i;
    }
    return items.size();
}

}  // namespace

std::vector<const json::object*> apply_query(const std::vector<const json::object*>& items,
                                             const json::object& request, const Resolver& resolve) {
    std::vector<const json::object*> out;
    const json::value& where = field_of(request, "where");
    if (!where.is_null() && !where.is_object()) throw std::invalid_argument("where must be an object");
    for (const json::object* o : items) {
        if (where.is_null() || where_matches(*o, where.get_object(), resolve)) out.push_back(o);
    }
    const json::value& order = field_of(request, "orderBy");
    if (order.is_string()) {
        order_by(out, order.get_string());
    } else if (!order.is_null()) {
        throw std::invalid_argument("orderBy must be a string like name_ASC");
    }
    // Cursors: after/before name an id in the ordered result; an unknown cursor gives nothing.
    const json::value& after = field_of(request, "after");
    if (after.is_string()) {
        std::size_t pos = position_of(out, after);
        out.erase(out.begin(), pos < out.size() ? out.begin() + pos + 1 : out.end());
    }
    const json::value& before = field_of(request, "before");
    if (before.is_string()) {
        std::size_t pos = position_of(out, before);
        out.erase(pos < out.size() ? out.begin() + pos : out.begin(), out.end());
    }
    std::int64_t skip = int_arg(request, "skip", 0);
    std::int64_t first = int_arg(request, "first", -1);
    std::int64_t last = int_arg(request, "last", -1);
    if (skip < 0 || (first < -1) || (last < -1)) throw std::invalid_argument("skip/first/last must not be negative");
    out.erase(out.begin(), out.begin() + std::min<std::size_t>(skip, out.size()));
    if (first >= 0 && static_cast<std::size_t>(first) < out.size()) out.resize(first);
    if (last >= 0 && static_cast<std::size_t>(last) < out.size()) out.erase(out.begin(), out.end() - last);
    return out;
}

}  // namespace sim
