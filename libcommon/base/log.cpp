#include "libcommon/base/log.h"

#include <cstdio>
#include <cstring>

#include "libcommon/base/status_line.h"

namespace hci {
namespace {
std::string g_program = "hci";
int g_verbose = 0;

void emit(const char* level, const std::string& message) {
    clear_status_line_for_message();
    std::string line = g_program + ": " + level + message + "\n";
    (void)!fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

void set_program_name(const char* argv0) {
    const char* slash = std::strrchr(argv0, '/');
    g_program = slash ? slash + 1 : argv0;
}
const std::string& program_name() { return g_program; }
void set_verbose(int level) { g_verbose = level; }
void log_error(const std::string& message) { emit("error: ", message); }
void log_warning(const std::string& message) { emit("warning: ", message); }
void log_info(const std::string& message) {
    if (g_verbose >= 1) emit("", message);
}
void log_debug(const std::string& message) {
    if (g_verbose >= 2) emit("debug: ", message);
}

}  // namespace hci
