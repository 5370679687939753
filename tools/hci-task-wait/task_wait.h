#pragma once
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "libcommon/base/json_lines.h"
#include "libcommon/base/status_line.h"
#include "libcommon/api/pipeline.h"
#include "libcommon/api/tasks.h"

namespace hci {

// Lines waiting for their tasks. In ordered mode a line is written only when
// every line before it has been written or dropped, so output keeps input order.
class TaskLineQueue {
public:
    TaskLineQueue(LineWriter& out, bool ordered, RunStatus& status, bool fail_fast = false)
        : out_(out), ordered_(ordered), status_(status), fail_fast_(fail_fast) {}

    // A line whose task_id is null (nothing to wait for) passes straight through.
    void add(json::object line, std::optional<std::string> task_id);
    void resolve(const TaskOutcome& outcome);
    bool empty() const { return queue_.empty(); }

private:
    struct Entry {
        json::object line;
        std::optional<std::string> task_id;
        bool resolved = false;
        std::optional<TaskOutcome> outcome;
    };
    void emit_ready();
    void finish(Entry& entry);

    LineWriter& out_;
    bool ordered_;
    RunStatus& status_;
    bool fail_fast_;
    std::deque<Entry> queue_;
};

// "tasks 3/10 done; slowest 42% (DESCRIPTION)": the status line while waiting.
std::string task_progress_text(const TaskProgress& progress);

// Reads lines with task_id from `in` while polling, until input ends and no
// task is pending. Input is read as it arrives, so an upstream tool that
// writes slowly does not delay the tasks already known. With progress shown
// (a terminal, or kOn), a status line on stderr says how far the tasks are;
// it is erased at the end.
void wait_task_lines(CloudTower& tower, LineReader& in, TaskLineQueue& queue, const TaskWaitSettings& settings,
                     ProgressMode progress = ProgressMode::kOff);

}  // namespace hci
