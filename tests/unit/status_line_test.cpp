#include <catch2/catch.hpp>

#include "libcommon/base/status_line.h"
#include "tools/hci-task-wait/task_wait.h"

TEST_CASE("text drawn on the status line has no control characters and is cut on a character") {
    CHECK(hci::printable_text("web01\x1b[2J\n", 60) == "web01?[2J?");
    CHECK(hci::printable_text("abcdef", 3) == "abc");
    CHECK(hci::printable_text("a\xc3\xa9", 2) == "a");  // not half of the é
}

TEST_CASE("hci-task-wait's status line: done/total and the slowest pending task") {
    hci::TaskProgress p;
    p.done = 3;
    p.total = 10;
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done");
    p.slowest_id = "task1";
    p.slowest_progress = 0.427;
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done; slowest 42% (task1)");
    p.slowest_description = "Create snapshot s of VM web01";
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done; slowest 42% (Create snapshot s of VM web01)");
}
