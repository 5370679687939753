#pragma once
#include <string>

namespace hci {

// Diagnostics go to stderr, prefixed with the program name, one line each.
void set_program_name(const char* argv0);
const std::string& program_name();
void set_verbose(int level);
void log_error(const std::string& message);
void log_warning(const std::string& message);
void log_info(const std::string& message);   // shown with --verbose
void log_debug(const std::string& message);  // shown with -vv

}  // namespace hci
