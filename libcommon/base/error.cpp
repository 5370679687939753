#include "libcommon/base/error.h"

#include <cstring>

namespace hci {

std::string errno_text(int err) { return std::strerror(err); }

std::string quote_input(std::string_view text, std::size_t max) {
    std::size_t cut = std::min(max, text.size());
    // Not inside a UTF-8 sequence: back up over continuation bytes.
    while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    std::string out;
    for (char c : text.substr(0, cut)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    if (cut < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace hci
