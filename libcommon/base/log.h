#pragma once
#include <string>

namespace hci {

// Diagnostics go to stderr, prefixed with the program name, one line each.
void set_program_name(const char* argv0);
const std::string& program_name();
void set_verbose(int level);
int verbose();
void log_error(const std::string& message);
void log_warning(const std::string& message);
void log_info(const std::string& message);   // shown with --verbose
void log_debug(const std::string& message);  // shown with -vv

// Runs a tool's main body: turns Error into its message and exit code, any
// other exception into an internal error, and makes SIGPIPE/EPIPE end quietly.
int run_main(int argc, char** argv, int (*body)(int, char**));

}  // namespace hci
