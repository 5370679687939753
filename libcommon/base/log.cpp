#include "libcommon/base/log.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

#include "libcommon/base/error.h"

namespace hci {
namespace {
std::string g_program = "hci";
int g_verbose = 0;

void emit(const char* level, const std::string& message) {
    std::string line = g_program + ": " + level + message + "\n";
    (void)!fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

std::string errno_text(int err) { return std::strerror(err); }

void set_program_name(const char* argv0) {
    const char* slash = std::strrchr(argv0, '/');
    g_program = slash ? slash + 1 : argv0;
}
const std::string& program_name() { return g_program; }
void set_verbose(int level) { g_verbose = level; }
int verbose() { return g_verbose; }
void log_error(const std::string& message) { emit("error: ", message); }
void log_warning(const std::string& message) { emit("warning: ", message); }
void log_info(const std::string& message) {
    if (g_verbose >= 1) emit("", message);
}
void log_debug(const std::string& message) {
    if (g_verbose >= 2) emit("debug: ", message);
}

int run_main(int argc, char** argv, int (*body)(int, char**)) {
    set_program_name(argc > 0 ? argv[0] : "hci");
    // A closed stdout (`| head -1`) must end us quietly: writes report EPIPE,
    // which the writers turn into a clean exit.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return body(argc, argv);
    } catch (const Error& e) {
        log_error(e.what());
        return e.code();
    } catch (const std::exception& e) {
        log_error(std::string("internal error: ") + e.what());
        return kExitIo;
    }
}

}  // namespace hci
