#pragma once
// JSON lines on stdin/stdout: the common currency of every hci-* tool.
#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/base/line_fields.h"

namespace hci {

namespace json = boost::json;

// Input lines longer than this are refused, and skipped without being held in
// memory; no line the tools exchange comes near it.
inline constexpr std::size_t kMaxLineBytes = 1u << 20;

// What is wrong with the bytes of an input line, or "" when nothing: a line
// is UTF-8 without control characters (tabs aside, and carriage returns
// before or after the content, as in CRLF files).
std::string line_problem(std::string_view text);

// One input line with the line number it came from (1-based), for messages.
struct InputLine {
    std::size_t number = 0;
    json::object object;
};

// Reads JSON objects as jq does: any sequence of JSON values, one per line,
// several on a line, or pretty-printed over many lines (jq ., a manifest).
// A value's number is the line it starts on. Each input line is checked on
// its own first (too long, not UTF-8, a control character). A malformed line
// or value (those, bad JSON, or not an object) is reported on stderr with its
// line number and skipped, and the others go on; the reader remembers that,
// and the tool exits kExitPartial at the end. With fail-fast the first bad
// value throws Error(kExitPartial) instead. After an error inside a value
// that spans lines, reading resumes at the next line that starts a value
// ({ or [ first), so one broken value is one error.
// On a terminal it says so on stderr at once, rather than wait silently.
class LineReader {
public:
    explicit LineReader(int fd = 0, bool fail_fast = false, std::string source = "stdin");
    // Reads the file at path, or stdin when path is "-" (a tool's FILE
    // argument). One that cannot be opened is Error(kExitIo) naming it.
    LineReader(const std::string& path, bool fail_fast);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // The next good value, or nullopt at end of input. Blank lines are ignored.
    std::optional<InputLine> next();
    // Up to max lines (fewer only at end of input).
    std::vector<InputLine> next_batch(std::size_t max);
    // Raw text lines (trailing newline and surrounding blanks stripped); blank lines skipped.
    std::optional<std::string> next_text();

    bool had_errors() const { return errors_ > 0; }
    std::size_t error_count() const { return errors_; }
    std::size_t line_number() const { return line_no_; }
    // Report a problem with a line that parsed but cannot be handled.
    void reject(std::size_t line_number, const std::string& reason);

    // For tools that stream (hci-task-wait): true when next() will not block
    // for long, i.e. a whole line is buffered, input ended, or data arrived
    // within timeout_ms.
    bool wait_readable(int timeout_ms);
    bool at_eof() const { return eof_ && buffer_.empty() && pending_.empty(); }

private:
    struct RawLine {
        std::string text;
        std::size_t length = 0;
        bool too_long = false;  // longer than kMaxLineBytes: text is empty
    };
    std::optional<RawLine> read_raw();
    RawLine skip_long_line();
    std::optional<std::string> read_checked();
    // Feeds pending_ to parser_; a finished value, or nullopt when more
    // input is needed or the value was bad (reported).
    std::optional<json::value> parse_pending();
    void report_bad_value(const std::string& reason);

    bool fill();  // reads more input into buffer_; false at end of input

    int fd_;
    bool owns_fd_ = false;
    std::string buffer_;
    bool eof_ = false;
    bool fail_fast_;
    std::string source_;
    std::size_t line_no_ = 0;
    std::size_t errors_ = 0;
    json::stream_parser parser_;
    std::string pending_;           // the unparsed rest of the current line
    std::size_t value_line_ = 0;    // where the value being parsed started; 0: none
    bool resync_ = false;           // skip lines until one starts a value
};

// Parses one line of text into an object; returns an error text when it is not one.
std::optional<json::object> parse_object_line(const std::string& text, std::string& error);

// Writes one compact JSON value per line and flushes, so downstream tools in a
// pipeline see each line at once. A closed stdout (EPIPE) ends the program
// quietly with exit 0, the way `yes | head -1` ends.
class LineWriter {
public:
    explicit LineWriter(std::FILE* out = stdout);
    void write(const json::value& value);

private:
    std::FILE* out_;
    bool to_terminal_;  // shares the screen with a status line on stderr
};

}  // namespace hci
