#pragma once
// Prisma-style queries as CloudTower evaluates them, as pure functions over
// JSON objects shaped like the API returns them.
#include <boost/json.hpp>
#include <functional>
#include <string_view>
#include <vector>

namespace sim {

namespace json = boost::json;

// Looks up the full object behind a nested relation (`{"id": ..., "name": ...}`)
// so a `where` can ask about fields the nested form does not carry. `field` is
// the relation's field name ("vm", "cluster", "vm_disks"...). May return null.
using Resolver = std::function<const json::object*(std::string_view field, const json::object& nested)>;

// True when `obj` satisfies the `where` input. Throws std::invalid_argument on
// a malformed where (unknown operator shape).
bool where_matches(const json::object& obj, const json::object& where, const Resolver& resolve = {});

// Orders by "field_ASC" / "field_DESC" (stable; nulls first when ascending).
void order_by(std::vector<const json::object*>& items, std::string_view order);

// Applies where, orderBy, after/before (cursor ids), skip, first/last of a
// get-* request body to `items` (in their natural order) and returns the page.
std::vector<const json::object*> apply_query(const std::vector<const json::object*>& items,
                                             const json::object& request, const Resolver& resolve = {});

// Compares two JSON scalars the way orderBy and _gt/_lt do: numbers by value,
// strings lexicographically, null lowest. Returns <0, 0, >0.
int compare_values(const json::value& a, const json::value& b);

}  // namespace sim
