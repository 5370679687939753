#include "libcommon/block/repo/backend/object_store.h"

#include <cctype>
#include <cstring>

#include "libcommon/base/error.h"

namespace hci::repo {

void validate_key(const std::string& key) {
    auto bad = [&](const std::string& why) { fail(kExitUsage, "bad object key '" + key + "': " + why); };
    if (key.empty()) bad("empty");
    size_t start = 0;
    for (;;) {
        size_t slash = key.find('/', start);
        std::string part = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (part.empty()) bad("an empty part");
        if (part[0] == '.') bad("a part starting with '.'");
        for (char c : part)
            if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._+@:=-", c)) bad("a character not allowed");
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
}

}  // namespace hci::repo
