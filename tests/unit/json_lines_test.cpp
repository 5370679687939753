#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"

namespace {

// A read end of a pipe holding `text` (small enough for the pipe buffer).
int pipe_with(const std::string& text) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fds[1]);
    return fds[0];
}

// What a LineReader finds in `text`: the objects, how many values it refused, and whether it reached the end.
struct ReadAll {
    std::vector<hci::InputLine> lines;
    std::size_t errors;
    bool eof;
};
ReadAll read_all(const std::string& text) {
    int fd = pipe_with(text);
    hci::LineReader reader(fd);
    ReadAll r{reader.next_batch(100), reader.error_count(), reader.at_eof()};
    close(fd);
    return r;
}

std::vector<std::size_t> numbers(const std::vector<hci::InputLine>& lines) {
    std::vector<std::size_t> n;
    for (const auto& line : lines) n.push_back(line.number);
    return n;
}

}  // namespace

TEST_CASE("LineReader returns objects with their line numbers and skips blank lines") {
    int fd = pipe_with("{\"a\":1}\n\n  \n{\"b\":2}\n{\"c\":3}");  // last line without newline
    hci::LineReader reader(fd);
    auto first = reader.next();
    REQUIRE(first);
    CHECK(first->number == 1);
    CHECK(first->object.at("a").as_int64() == 1);
    auto second = reader.next();
    REQUIRE(second);
    CHECK(second->number == 4);
    auto third = reader.next();
    REQUIRE(third);
    CHECK(third->number == 5);
    CHECK_FALSE(reader.next());
    CHECK_FALSE(reader.had_errors());
    close(fd);
}

TEST_CASE("LineReader skips a malformed line, remembers it, and goes on") {
    auto r = read_all("{\"a\":1}\n{not json\n[1,2]\n{\"b\":2}\n");
    CHECK(numbers(r.lines) == std::vector<std::size_t>{1, 4});
    CHECK(r.errors == 2);  // bad JSON and a non-object
}

TEST_CASE("LineReader with fail-fast stops at the first malformed line, naming its number") {
    int fd = pipe_with("{\"a\":1}\n{\"a\":2}\nnope\n{\"b\":2}\n");
    hci::LineReader reader(fd, true);
    REQUIRE(reader.next());
    REQUIRE(reader.next());
    try {
        reader.next();
        FAIL("expected an error");
    } catch (const hci::Error& e) {
        CHECK(e.code() == hci::kExitPartial);
        CHECK(std::string(e.what()).find("line 3") != std::string::npos);
    }
    close(fd);
}

TEST_CASE("LineReader reads what jq reads: pretty-printed values and several values on a line") {
    auto r = read_all("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n{\"c\":3} {\"d\":4}\n\n  {\"e\":\n5}");
    REQUIRE(numbers(r.lines) == std::vector<std::size_t>{1, 7, 7, 9});
    CHECK(r.lines[0].object.at("b").as_array().size() == 1);
    CHECK(r.lines[2].object.at("d").as_int64() == 4);
    CHECK(r.errors == 0);
    CHECK(r.eof);
}

TEST_CASE("LineReader reports a broken multi-line value once, at its first line, and goes on") {
    // Value 1 is cut short by value 2 (line 3); value 3 breaks inside (line 6)
    // and the reader resumes at value 4; value 5 never ends.
    auto r = read_all("{\"a\":\n  1,\n{\"b\":2}\n{\n  \"c\": 3,\n  oops\n}\n{\"d\":4}\n{\"e\":\n");
    CHECK(numbers(r.lines) == std::vector<std::size_t>{3, 8});
    CHECK(r.errors == 3);
}

TEST_CASE("LineReader with fail-fast names the line a multi-line value starts on") {
    int fd = pipe_with("{\"a\":1}\n{\n  \"b\": nope\n}\n");
    hci::LineReader reader(fd, true);
    REQUIRE(reader.next());
    try {
        reader.next();
        FAIL("expected an error");
    } catch (const hci::Error& e) {
        CHECK(std::string(e.what()).find("line 2") != std::string::npos);
        CHECK(std::string(e.what()).find("line 3") != std::string::npos);
    }
    close(fd);
}

TEST_CASE("LineReader next_batch honours the batch size") {
    int fd = pipe_with("{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n");
    hci::LineReader reader(fd);
    CHECK(reader.next_batch(2).size() == 2);
    CHECK(reader.next_batch(2).size() == 1);
    CHECK(reader.next_batch(2).empty());
    CHECK(reader.at_eof());
    close(fd);
}

TEST_CASE("LineWriter writes one compact line per value") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    hci::LineWriter writer(f);
    writer.write(boost::json::object{{"a", 1}});
    writer.write(boost::json::object{{"b", boost::json::array{1, 2}}});
    std::rewind(f);
    char buf[128] = {};
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    CHECK(std::string(buf, n) == "{\"a\":1}\n{\"b\":[1,2]}\n");
    std::fclose(f);
}

TEST_CASE("line fields: JSON pointers into lines, strings only for string_field") {
    auto o = boost::json::parse(R"({"data":{"id":"s1","n":3},"id":"x","disk":{"index":2},"vm":null,
                                   "export":{"lun":{"id":"l1"},"url":"iscsi://h/t/1"}})").as_object();
    CHECK(hci::string_field(o, hci::line::kDataId) == std::optional<std::string>("s1"));
    CHECK_FALSE(hci::string_field(o, "/data/n"));
    CHECK_FALSE(hci::string_field(o, "/missing/id"));
    CHECK_FALSE(hci::string_field(o, hci::line::kVmName));  // vm is null
    CHECK(hci::string_field(o, hci::line::kId) == std::optional<std::string>("x"));
    CHECK(hci::string_field(o, hci::line::kExportLunId) == std::optional<std::string>("l1"));
    CHECK(hci::string_field(o, hci::line::kExportUrl) == std::optional<std::string>("iscsi://h/t/1"));
    CHECK(hci::text_field(o, hci::line::kDiskIndex) == "2");
    CHECK(hci::text_field(o, hci::line::kVm).empty());
    CHECK(hci::text_field(o, "/nothing").empty());
    CHECK(hci::find_field(o, "/data")->is_object());
    CHECK_FALSE(hci::find_field(o, "data"));  // not a pointer
}
