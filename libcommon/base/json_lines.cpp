#include "libcommon/base/json_lines.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "libcommon/base/cli.h"
#include "libcommon/base/error.h"
#include "libcommon/base/interrupt.h"
#include "libcommon/base/log.h"
#include "libcommon/base/status_line.h"

namespace hci {

LineReader::LineReader(int fd, bool fail_fast, std::string source)
    : fd_(fd), fail_fast_(fail_fast), source_(std::move(source)) {
    // One behaviour for every tool: never wait silently on a terminal.
    if (::isatty(fd_)) notice("reading JSON lines from the terminal (" + source_ + "); end with Ctrl-D, see --help");
}

namespace {

int open_input(const std::string& path) {
    if (path == "-") return STDIN_FILENO;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(kExitIo, "cannot open input file " + path + ": " + errno_text(errno));
    return fd;
}

}  // namespace

LineReader::LineReader(const std::string& path, bool fail_fast)
    : LineReader(open_input(path), fail_fast, path == "-" ? "stdin" : path) {
    owns_fd_ = fd_ != STDIN_FILENO;
}

LineReader::~LineReader() {
    if (owns_fd_) ::close(fd_);
}

bool LineReader::fill() {
    if (eof_) return false;
    char chunk[65536];
    for (;;) {
        ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n > 0) {
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            eof_ = true;
            return false;
        }
        if (errno == EINTR) {
            check_interrupted();  // Ctrl-C while waiting for input (tools that handle it)
            continue;
        }
        fail(kExitIo, "reading " + source_ + ": " + errno_text(errno));
    }
}

std::optional<LineReader::RawLine> LineReader::read_raw() {
    std::size_t newline;
    while ((newline = buffer_.find('\n')) == std::string::npos) {
        if (buffer_.size() > kMaxLineBytes) return skip_long_line();
        if (!fill()) break;
    }
    if (newline == std::string::npos) {
        if (buffer_.empty()) return std::nullopt;
        newline = buffer_.size();  // last line without a newline
    }
    ++line_no_;
    RawLine line{"", newline, newline > kMaxLineBytes};
    if (!line.too_long) line.text = buffer_.substr(0, newline);
    buffer_.erase(0, std::min(newline + 1, buffer_.size()));
    return line;
}

// A line too long to keep: the rest of it is read and dropped, up to its newline.
LineReader::RawLine LineReader::skip_long_line() {
    ++line_no_;
    RawLine line{"", 0, true};
    for (;;) {
        std::size_t newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            line.length += newline;
            buffer_.erase(0, newline + 1);
            return line;
        }
        line.length += buffer_.size();
        buffer_.clear();
        if (!fill()) return line;
    }
}

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = byte(i);
    if (b < 0x80) return 1;
    std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0;
    if (n == 0 || b > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    unsigned char second = byte(i + 1);
    if ((b == 0xE0 && second < 0xA0) || (b == 0xED && second > 0x9F) || (b == 0xF0 && second < 0x90) ||
        (b == 0xF4 && second > 0x8F))
        return 0;
    return n;
}

std::string hex_byte(unsigned char b) {
    const char* digits = "0123456789ABCDEF";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

std::string line_problem(std::string_view text) {
    // Carriage returns are blanks around the content (CRLF files, JSON
    // whitespace), and control characters inside it.
    const std::size_t first = text.find_first_not_of(" \t\r");
    const std::size_t last = text.find_last_not_of(" \t\r");
    for (std::size_t i = 0; i < text.size();) {
        auto b = static_cast<unsigned char>(text[i]);
        std::string where = " at byte " + std::to_string(i + 1);
        bool blank_cr = b == '\r' && (i < first || first == std::string_view::npos || i > last);
        if (b < 0x20 && b != '\t' && !blank_cr) return "holds the control character " + hex_byte(b) + where;
        std::size_t n = utf8_sequence(text, i);
        if (n == 0) return "not valid UTF-8 (byte " + hex_byte(b) + where + ")";
        i += n;
    }
    return "";
}

bool LineReader::wait_readable(int timeout_ms) {
    if (eof_ || !pending_.empty() || buffer_.find('\n') != std::string::npos) return true;
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, timeout_ms);
    return n > 0;
}

static std::string trim(const std::string& s) {
    const char* blanks = " \t\r\n";
    auto begin = s.find_first_not_of(blanks);
    if (begin == std::string::npos) return "";
    auto end = s.find_last_not_of(blanks);
    return s.substr(begin, end - begin + 1);
}

std::optional<json::object> parse_object_line(const std::string& text, std::string& error) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) {
        error = "not valid JSON (" + ec.message() + ")";
        return std::nullopt;
    }
    if (!value.is_object()) {
        error = "not a JSON object";
        return std::nullopt;
    }
    return std::move(value.as_object());
}

void LineReader::reject(std::size_t line_number, const std::string& reason) {
    ++errors_;
    std::string message = source_ + " line " + std::to_string(line_number) + ": " + reason;
    if (fail_fast_) fail(kExitPartial, message);
    log_error(message);
}

// The next line that passed the per-line checks; bad ones are reported alone.
std::optional<std::string> LineReader::read_checked() {
    while (auto raw = read_raw()) {
        if (raw->too_long) {
            reject(line_no_, "too long (" + std::to_string(raw->length) + " bytes; at most " +
                                 std::to_string(kMaxLineBytes) + ")");
            continue;
        }
        if (std::string problem = line_problem(raw->text); !problem.empty()) {
            reject(line_no_, problem);
            continue;
        }
        return std::move(raw->text);
    }
    return std::nullopt;
}

std::optional<std::string> LineReader::next_text() {
    while (auto raw = read_checked()) {
        std::string text = trim(*raw);
        if (!text.empty()) return text;
    }
    return std::nullopt;
}

namespace {

bool starts_value(const std::string& text) {
    auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string::npos && (text[first] == '{' || text[first] == '[');
}

}  // namespace

void LineReader::report_bad_value(const std::string& reason) {
    std::size_t started = value_line_;
    bool spans_lines = started != 0 && started != line_no_;
    parser_.reset();
    value_line_ = 0;
    if (!spans_lines) {
        pending_.clear();
        reject(line_no_, reason);
        return;
    }
    // The value that started on an earlier line is broken. If this line
    // starts a new value, the earlier one was cut short: parse this one afresh.
    std::string message = "the JSON value that starts here is broken at line " + std::to_string(line_no_) + " (" +
                          reason + ")";
    if (!starts_value(pending_)) {
        pending_.clear();
        resync_ = true;
    }
    reject(started, message);
}

std::optional<json::value> LineReader::parse_pending() {
    if (value_line_ == 0) {
        auto first = pending_.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) {
            pending_.clear();
            return std::nullopt;
        }
        pending_.erase(0, first);
        value_line_ = line_no_;
    }
    boost::system::error_code ec;
    std::size_t used = parser_.write_some(pending_.data(), pending_.size(), ec);
    if (ec) {
        report_bad_value("not valid JSON (" + ec.message() + ")");
        return std::nullopt;
    }
    pending_.erase(0, used);
    if (!parser_.done()) return std::nullopt;
    json::value value = parser_.release();
    parser_.reset();
    return value;
}

std::optional<InputLine> LineReader::next() {
    for (;;) {
        if (pending_.find_first_not_of(" \t\r\n") == std::string::npos) {
            pending_.clear();
            auto raw = read_checked();
            if (!raw) break;
            if (resync_ && !starts_value(*raw)) continue;
            resync_ = false;
            pending_ = *raw + "\n";
        }
        std::size_t started = value_line_ ? value_line_ : line_no_;
        auto value = parse_pending();
        if (!value) continue;
        value_line_ = 0;
        if (value->is_object()) return InputLine{started, std::move(value->as_object())};
        reject(started, "not a JSON object");
    }
    if (value_line_ != 0) {
        std::size_t started = value_line_;
        value_line_ = 0;
        parser_.reset();
        reject(started, "the JSON value that starts here is not complete at the end of the input");
    }
    return std::nullopt;
}

std::vector<InputLine> LineReader::next_batch(std::size_t max) {
    std::vector<InputLine> batch;
    while (batch.size() < max) {
        auto line = next();
        if (!line) break;
        batch.push_back(std::move(*line));
    }
    return batch;
}

LineWriter::LineWriter(std::FILE* out) : out_(out), to_terminal_(::isatty(::fileno(out))) {}

void LineWriter::write(const json::value& value) {
    if (to_terminal_) clear_status_line_for_message();
    std::string text = json::serialize(value);
    text.push_back('\n');
    errno = 0;
    bool ok = std::fwrite(text.data(), 1, text.size(), out_) == text.size() && std::fflush(out_) == 0;
    if (ok) return;
    if (errno == EPIPE) {
        // The reader went away (`| head -1`): that is its choice, not our failure.
        log_debug("stdout closed by the reader; stopping");
        std::_Exit(kExitOk);
    }
    fail(kExitIo, "writing stdout: " + errno_text(errno));
}

}  // namespace hci
