#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "libcommon/base/status_line.h"
#include "libcommon/block/copy_options.h"
#include "libcommon/block/progress.h"
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
    p.slowest_id = "cl0mxdcy31k0014vektvyb2";
    p.slowest_progress = 0.427;
    // Before the first poll nothing describes the task: never its bare id.
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done; slowest 42%");
    p.slowest_label = "vm web01";
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done; slowest 42% (vm web01)");
    p.slowest_description = "Create snapshot s of VM web01";
    CHECK(hci::task_progress_text(p) == "tasks 3/10 done; slowest 42% (Create snapshot s of VM web01)");
}

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// A clock that moves only when the test says so.
struct FakeClock {
    std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
    hci::SteadyClock fn() {
        return [this] { return now; };
    }
};

// Everything written into a pipe's write end, read back once it is closed.
struct Captured {
    int fds[2] = {-1, -1};
    Captured() { REQUIRE(::pipe(fds) == 0); }
    ~Captured() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
    std::string take() {
        ::close(fds[1]);
        fds[1] = -1;
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
        return out;
    }
};

}  // namespace

TEST_CASE("a meter's text: no rate or ETA before a second of data, then both; the time taken at the end") {
    using hci::progress_text;
    CHECK(progress_text("", {8 * kMiB, 64 * kMiB, 0.004, false}) == "8.0 MiB / 64.0 MiB  12%");
    CHECK(progress_text("", {8 * kMiB, 64 * kMiB, 0.999, false}) == "8.0 MiB / 64.0 MiB  12%");
    CHECK(progress_text("", {8 * kMiB, 64 * kMiB, 2.0, false}) == "8.0 MiB / 64.0 MiB  12% 4.0 MiB/s ETA 0:00:14");
    CHECK(progress_text("web01 disk 0 read: ", {64 * kMiB, 64 * kMiB, 0.2, true}) ==
          "web01 disk 0 read: 64.0 MiB / 64.0 MiB 100% 0.2s");
    CHECK(progress_text("", {64 * kMiB, 64 * kMiB, 2.0, true}) == "64.0 MiB / 64.0 MiB 100% 32.0 MiB/s 2.0s");
    CHECK(progress_text("", {3 * kMiB, 0, 0.5, false}) == "3.0 MiB");  // a pipe of unknown length
    CHECK(progress_text("", {3 * kMiB, 0, 1.5, false}) == "3.0 MiB 2.0 MiB/s");
}

TEST_CASE("a meter draws from the clock it is given: no absurd first rate, and it ends its line") {
    hci::set_progress_label("");
    FakeClock clock;
    Captured out;
    {
        hci::Progress meter(hci::ProgressMode::kOn, 64 * kMiB, clock.fn(), out.fds[1]);
        clock.now += std::chrono::milliseconds(3);
        meter.update(8 * kMiB);  // the first reading: drawn at once, 3 ms of data
        clock.now += std::chrono::milliseconds(100);
        meter.update(9 * kMiB);  // too soon to redraw
        clock.now += std::chrono::milliseconds(1897);
        meter.update(16 * kMiB);  // two seconds in
        meter.finish();
    }
    CHECK(out.take() == "\r8.0 MiB / 64.0 MiB  12%\033[K"
                        "\r16.0 MiB / 64.0 MiB  25% 8.0 MiB/s ETA 0:00:06\033[K"
                        "\r16.0 MiB / 64.0 MiB  25% 8.0 MiB/s 2.0s\033[K\n");
}

TEST_CASE("two meters in turn: each on a line of its own") {
    hci::set_progress_label("");
    FakeClock clock;
    Captured out;
    for (uint64_t size : {kMiB, 2 * kMiB}) {
        hci::Progress meter(hci::ProgressMode::kOn, size, clock.fn(), out.fds[1]);
        meter.update(size / 2);
        meter.update(size);
        meter.finish();
    }
    CHECK(out.take() == "\r512.0 KiB / 1.0 MiB  50%\033[K\r1.0 MiB / 1.0 MiB 100% 0.0s\033[K\n"
                        "\r1.0 MiB / 2.0 MiB  50%\033[K\r2.0 MiB / 2.0 MiB 100% 0.0s\033[K\n");
}

TEST_CASE("behind a pipe a reader leaves the meter to the writer, unless asked") {
    Captured pipe_fds;
    CHECK(hci::progress_behind_pipe(hci::ProgressMode::kAuto, pipe_fds.fds[0]) == hci::ProgressMode::kOff);
    CHECK(hci::progress_behind_pipe(hci::ProgressMode::kOn, pipe_fds.fds[0]) == hci::ProgressMode::kOn);
    int file = ::open("/dev/null", O_RDONLY);
    REQUIRE(file >= 0);
    CHECK(hci::progress_behind_pipe(hci::ProgressMode::kAuto, file) == hci::ProgressMode::kAuto);
    ::close(file);
}
