#include "snapshot_naming.h"

#include "libcommon/base/error.h"

namespace hci {

Consistency parse_consistency(const std::string& text) {
    if (text == "crash") return Consistency::kCrash;
    if (text == "fs") return Consistency::kFileSystem;
    if (text == "auto") return Consistency::kAuto;
    fail(kExitUsage, "--consistency must be crash, fs or auto, not " + text);
}

std::string consistent_type_for(Consistency wanted, const std::string& vm_tools_status) {
    switch (wanted) {
        case Consistency::kCrash:
            return "CRASH_CONSISTENT";
        case Consistency::kFileSystem:
            return "FILE_SYSTEM_CONSISTENT";
        case Consistency::kAuto:
            break;
    }
    return vm_tools_status == "RUNNING" ? "FILE_SYSTEM_CONSISTENT" : "CRASH_CONSISTENT";
}

static std::string utc(std::time_t now, const char* format) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[64];
    std::strftime(text, sizeof text, format, &tm);
    return text;
}

std::string expand_name_template(const std::string& name_template, const std::string& vm_name,
                                 const std::string& vm_id, std::time_t now) {
    std::string out;
    for (std::size_t i = 0; i < name_template.size(); ++i) {
        char c = name_template[i];
        if ((c == '{' || c == '}') && i + 1 < name_template.size() && name_template[i + 1] == c) {
            out.push_back(c);
            ++i;
            continue;
        }
        if (c != '{') {
            out.push_back(c);
            continue;
        }
        auto close = name_template.find('}', i);
        if (close == std::string::npos) fail(kExitUsage, "--name: unclosed { in " + name_template);
        std::string key = name_template.substr(i + 1, close - i - 1);
        if (key == "vm") out += vm_name;
        else if (key == "id") out += vm_id;
        else if (key == "timestamp") out += utc(now, "%Y%m%dT%H%M%SZ");
        else if (key == "date") out += utc(now, "%Y-%m-%d");
        else fail(kExitUsage, "--name: unknown placeholder {" + key + "} (known: {vm} {id} {timestamp} {date})");
        i = close;
    }
    return out;
}

std::string checked_name_template(const std::string& name_template) {
    if (expand_name_template(name_template, "vm", "id", 0).empty()) fail(kExitUsage, "--name gives an empty name");
    return name_template;
}

}  // namespace hci
