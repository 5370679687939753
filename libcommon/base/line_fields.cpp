#include "libcommon/base/line_fields.h"

namespace hci {

const json::value* find_field(const json::object& object, std::string_view pointer) {
    // Boost.JSON resolves pointers on values: look up the first key here,
    // hand the rest to find_pointer.
    if (pointer.empty() || pointer[0] != '/') return nullptr;
    const auto next = pointer.find('/', 1);
    const json::value* first = object.if_contains(pointer.substr(1, next == std::string_view::npos ? next : next - 1));
    if (!first || next == std::string_view::npos) return first;
    boost::system::error_code ec;
    return first->find_pointer(pointer.substr(next), ec);
}

std::optional<std::string> string_field(const json::object& object, std::string_view pointer) {
    const json::value* v = find_field(object, pointer);
    if (v && v->is_string()) return std::string(v->as_string());
    return std::nullopt;
}

std::string text_field(const json::object& object, std::string_view pointer) {
    const json::value* v = find_field(object, pointer);
    if (!v || v->is_null()) return "";
    if (v->is_string()) return std::string(v->as_string());
    return json::serialize(*v);
}

}  // namespace hci
