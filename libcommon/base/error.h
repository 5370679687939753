#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

#include "libcommon/base/exit_codes.h"

namespace hci {

// An error that knows which exit code it ends the program with.
// The message is one line, meant for stderr, and never contains a secret.
class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

[[noreturn]] inline void fail(ExitCode code, const std::string& message) { throw Error(code, message); }

// The errno text for messages: "open foo: No such file or directory".
std::string errno_text(int err);

// Input text for a message: at most `max` bytes (cut at a character
// boundary, line breaks shown as spaces), and when cut, how long it was:
// a 100 MB input line never becomes a 100 MB message.
std::string quote_input(std::string_view text, std::size_t max = 200);

}  // namespace hci
