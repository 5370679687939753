// A bounded, seeded mutation fuzzer for JSON-lines input, run by ctest as
// fuzz/json-lines (hidden from the plain unit run). Each case is twenty
// valid object lines with a few of them mutated: bit flips, truncations,
// bytes that are not UTF-8, control characters, lines past the length limit,
// other JSON values, two objects on one line. The reader takes input as jq
// does (a value may span lines), so the oracle judges each line alone with
// Boost.JSON and the length limit (a valid value that is no object is bad,
// and the values after it on its line are read on), and checks what must
// hold whatever the neighbours: with no bad line, exactly the expected
// objects come out, with their line numbers, and no error; with bad lines, at
// least one error is reported, nothing comes out that the input's good lines
// do not hold at that number, and every good line that does not follow a bad
// one comes out.
//
// HCI_FUZZ_CASES and HCI_FUZZ_SEED change the number of cases and the seed.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <random>

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"
#include "memory_fd.h"

using namespace hci;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string trimmed(const std::string& s) {
    auto begin = s.find_first_not_of(" \t\r");
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// The verdict for one line, independent of the reader: blank lines are
// skipped; others must be one or more JSON objects (Boost.JSON also refuses
// bytes that are not UTF-8), no longer than the limit, without control
// characters.
enum class Verdict { kBlank, kGood, kBad };
struct Judged {
    Verdict verdict = Verdict::kBlank;
    std::vector<json::object> objects;
};
Judged judge(const std::string& line) {
    std::string text = trimmed(line);
    if (line.size() > kMaxLineBytes) return {Verdict::kBad, {}};
    if (text.empty()) return {};
    for (unsigned char c : text)  // the documented rule: no control characters but tabs
        if (c < 0x20 && c != '\t') return {Verdict::kBad, {}};
    Judged judged{Verdict::kGood, {}};
    json::stream_parser parser;
    std::string_view rest = text;
    while (!rest.empty()) {
        boost::system::error_code ec;
        std::size_t used = parser.write_some(rest.data(), rest.size(), ec);
        // A bad line keeps the objects before the bad part: a reader that
        // reads values as jq does may hand those out, as jq would.
        if (ec || !parser.done()) return {Verdict::kBad, std::move(judged.objects)};
        json::value v = parser.release();
        parser.reset();
        // A well-formed value that is not an object is one bad value; the
        // values after it on the line are read on, as jq reads them.
        if (v.is_object())
            judged.objects.push_back(std::move(v.as_object()));
        else
            judged.verdict = Verdict::kBad;
        rest.remove_prefix(used);
        rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r") == std::string_view::npos
                                                     ? rest.size()
                                                     : rest.find_first_not_of(" \t\r")));
    }
    return judged;
}

std::string valid_line(std::mt19937_64& rng, int n) {
    static const char* shapes[] = {
        R"({"id":"vm%d","name":"web%d"})",
        R"({"task_id":"t%d","data":{"id":"s%d","name":"snap \u00e9"}})",
        R"({"vm_snapshot":{"id":"s%d"},"disk":{"index":%d},"lun_snapshot":{"id":"l","name":"n"}})",
        R"(  {"export":{"url":"iscsi://127.0.0.1/iqn.x/%d","lun":{"id":"l%d"}}}	)",
        R"({"a":[1,2.5,-3e7,true,false,null,{"b":"caf\u00e9 \"%d\" %d"}]})",
    };
    char buf[256];
    std::snprintf(buf, sizeof buf, shapes[rng() % 5], n, n);
    return buf;
}

std::string mutate(std::string line, std::mt19937_64& rng) {
    auto at = [&] { return line.empty() ? 0 : rng() % line.size(); };
    switch (rng() % 8) {
        case 0:  // bit flips (never a newline: that would make two lines)
            for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n && !line.empty(); ++i) {
                size_t p = at();
                line[p] = static_cast<char>(line[p] ^ (1 << (rng() % 8)));
                if (line[p] == '\n') line[p] = '!';
            }
            return line;
        case 1: return line.substr(0, at());
        case 2: return line.insert(at(), 1, static_cast<char>(0x80 + rng() % 0x80));  // a stray non-ASCII byte
        case 3: {  // a control character
            char c = static_cast<char>(1 + rng() % 31);
            return line.insert(at(), 1, c == '\n' ? '\x01' : c);
        }
        case 4: return line + std::string(kMaxLineBytes + rng() % 100, ' ');  // past the limit, even if blank
        case 5: return std::string(rng() % 2 ? "[1,2]" : "\"text\"");
        case 6: return line.insert(at(), "\xed\xa0\x80");  // an encoded surrogate: not UTF-8
        default: return line + line;  // two objects on one line
    }
}

// The input of a failing case, with bytes outside printable ASCII escaped, so
// the message alone reproduces it.
std::string printable(const std::string& input) {
    std::string out;
    char hex[8];
    for (unsigned char c : input) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            std::snprintf(hex, sizeof hex, "\\x%02X", c);
            out += hex;
        }
    }
    return out;
}

// Runs the reader over `input` with stderr (the bad-line reports) discarded.
struct ReaderRun {
    std::vector<InputLine> lines;
    size_t errors = 0;
};

ReaderRun read_all(const std::string& input) {
    int fd = test::memory_fd(input);
    ReaderRun run;
    LineReader reader(fd);
    while (auto line = reader.next()) run.lines.push_back(std::move(*line));
    run.errors = reader.error_count();
    ::close(fd);
    return run;
}

}  // namespace

TEST_CASE("JSON lines: seeded mutations get the expected verdict, line by line", "[.][fuzz-json-lines]") {
    const uint64_t cases = env_number("HCI_FUZZ_CASES", 2000);
    const uint64_t seed = env_number("HCI_FUZZ_SEED", 20261128);
    std::mt19937_64 rng(seed);
    int saved_stderr = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, 2);
    uint64_t mismatches = 0, bad_lines = 0, good_lines = 0;
    std::string first_mismatch;
    for (uint64_t c = 0; c < cases; ++c) {
        std::vector<std::string> lines;
        for (int i = 0; i < 20; ++i) lines.push_back(valid_line(rng, i));
        for (int m = 0; m < 1 + static_cast<int>(rng() % 5); ++m) {
            size_t i = rng() % lines.size();
            lines[i] = mutate(lines[i], rng);
        }
        std::string input;
        for (const auto& l : lines) input += l + "\n";
        if (rng() % 4 == 0) input.pop_back();  // the last line without its newline

        std::vector<std::pair<size_t, json::object>> want;
        std::vector<bool> must_appear;  // a good line that does not follow a bad one
        size_t bad = 0;
        bool after_bad = false;
        for (size_t i = 0; i < lines.size(); ++i) {
            Judged j = judge(lines[i]);
            for (auto& o : j.objects) {
                want.emplace_back(i + 1, std::move(o));
                must_appear.push_back(!after_bad && j.verdict == Verdict::kGood);
            }
            if (j.verdict == Verdict::kBad) ++bad;
            if (j.verdict != Verdict::kBlank) after_bad = j.verdict == Verdict::kBad;
        }
        const size_t want_errors = bad;
        ReaderRun got = read_all(input);
        bool same;
        if (bad == 0) {
            same = got.errors == 0 && got.lines.size() == want.size();
            for (size_t i = 0; same && i < want.size(); ++i)
                same = got.lines[i].number == want[i].first && got.lines[i].object == want[i].second;
        } else {
            same = got.errors >= 1;
            std::vector<bool> seen(want.size(), false);
            for (const auto& line : got.lines) {
                bool found = false;
                for (size_t i = 0; i < want.size() && !found; ++i)
                    if (!seen[i] && want[i].first == line.number && want[i].second == line.object) seen[i] = found = true;
                same = same && found;
            }
            for (size_t i = 0; i < want.size(); ++i) same = same && (seen[i] || !must_appear[i]);
        }
        good_lines += want.size();
        bad_lines += want_errors;
        if (!same && ++mismatches == 1)
            first_mismatch = "case " + std::to_string(c) + ": " + std::to_string(got.lines.size()) + " good and " +
                             std::to_string(got.errors) + " bad lines, expected " + std::to_string(want.size()) +
                             " and " + std::to_string(want_errors) + "; input: " + printable(input);
    }
    ::dup2(saved_stderr, 2);
    ::close(saved_stderr);
    ::close(null);
    std::cout << "fuzz/json-lines: seed " << seed << ", " << cases << " cases of 20 lines (" << good_lines
              << " good, " << bad_lines << " bad), " << mismatches << " verdict mismatches\n";
    INFO(first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("line_problem names the first bad byte; quote_input keeps messages short") {
    CHECK(line_problem("web01").empty());
    CHECK(line_problem("caf\xc3\xa9\tx").empty());
    CHECK(line_problem("\xf0\x9f\x98\x80").empty());  // U+1F600
    CHECK(line_problem("ab\xff") == "not valid UTF-8 (byte 0xFF at byte 3)");
    CHECK(line_problem("\xc0\xaf") == "not valid UTF-8 (byte 0xC0 at byte 1)");  // overlong '/'
    CHECK(line_problem("\xed\xa0\x80") == "not valid UTF-8 (byte 0xED at byte 1)");  // surrogate
    CHECK(line_problem("\xf4\x90\x80\x80") == "not valid UTF-8 (byte 0xF4 at byte 1)");  // past U+10FFFF
    CHECK(line_problem("\xe2\x82") == "not valid UTF-8 (byte 0xE2 at byte 1)");  // cut short
    CHECK(line_problem("a\x1b[0m") == "holds the control character 0x1B at byte 2");
    CHECK(line_problem("{\"id\":\"vm1\"}\r").empty());  // a CRLF file
    CHECK(line_problem(" \r{}\t\r ").empty());
    CHECK(line_problem("\r").empty());
    CHECK(line_problem("we\rb01") == "holds the control character 0x0D at byte 3");
    CHECK(quote_input("short") == "short");
    CHECK(quote_input(std::string(1000, 'a')) == std::string(200, 'a') + "... (1000 bytes)");
    CHECK(quote_input("a\nb") == "a b");
    std::string accents = "x";
    for (int i = 0; i < 150; ++i) accents += "\xc3\xa9";  // é: byte 200 is inside one
    std::string quoted = quote_input(accents);
    CHECK(quoted.find("... (301 bytes)") == 199);  // never cut inside a character
    CHECK(line_problem(quoted).empty());
}
