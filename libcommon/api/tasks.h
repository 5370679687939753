#pragma once
// Waiting for CloudTower tasks: one get-tasks call (id_in) per round for every
// pending task, with polling that starts quick and backs off to a cap.
// hci-task-wait, hci-snap-delete and hci-lun-export/unexport all use this.
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "libcommon/api/cloudtower.h"

namespace hci {

struct TaskWaitSettings {
    double interval_s = 0.5;       // first wait between rounds
    double max_interval_s = 5;     // the wait grows by half each round up to this
    double timeout_s = 1800;       // per task, from when it was added
    int unknown_rounds = 3;        // rounds a task id may be missing before it is "unknown"
    // A signal (Ctrl-C) while waiting: throw Interrupted at once (the caller
    // undoes its work); or finish waiting for the tasks already started, so
    // their outcome is known and reported, saying so on stderr (kFinish) or
    // not (kIgnore: the caller is cleaning up after a signal and said so).
    // A second signal still ends the program.
    enum class OnInterrupt { kThrow, kFinish, kIgnore } on_interrupt = OnInterrupt::kThrow;
};

struct TaskOutcome {
    enum Status { kSucceeded, kFailed, kUnknown, kTimedOut } status = kSucceeded;
    std::string id;
    json::object task;  // the Task as get-tasks returned it (empty for kUnknown)

    // "task ID FAILED: ERROR_CODE: ERROR_MESSAGE", "task ID is unknown to CloudTower", ...
    std::string describe() const;
    // {id, status, progress, finished_at} for output lines.
    json::object summary() const;
};

// How far a poller's tasks are: done of all it was given, and the pending
// task that has progressed least (CloudTower's Task.progress, 0 to 1).
struct TaskProgress {
    std::size_t done = 0, total = 0;
    std::string slowest_id;           // empty when nothing is pending
    std::string slowest_description;  // the Task's description, when known
    std::string slowest_label;        // what add() was told the task is for
    double slowest_progress = 0;
};

class TaskPoller {
public:
    using Clock = std::chrono::steady_clock;

    TaskPoller(CloudTower& tower, TaskWaitSettings settings);

    // label: what the task is for ("vm web01"), shown until CloudTower's
    // description of it is known.
    void add(const std::string& task_id, const std::string& label = {});
    std::size_t pending() const { return pending_.size(); }
    // Milliseconds until the next round is due; 0 when it is due now.
    long ms_until_next_round() const;
    // One get-tasks call for all pending tasks; returns the ones that ended
    // (succeeded, failed, unknown or timed out) and forgets them.
    std::vector<TaskOutcome> poll_round();
    // Rounds until nothing is pending, handing each ended task to on_done.
    void wait_all(const std::function<void(const TaskOutcome&)>& on_done);
    TaskProgress progress() const;

private:
    json::array query_within_timeout(json::array ids);
    struct Pending {
        Clock::time_point added;
        int missing_rounds = 0;
        double progress = 0;      // as the last round saw it
        std::string description;
        std::string label;
    };
    static void note_progress(const json::object& task, Pending& pending);
    CloudTower& tower_;
    TaskWaitSettings settings_;
    std::map<std::string, Pending> pending_;
    double interval_s_;
    Clock::time_point next_round_;
    int rounds_ = 0;
    std::size_t added_ = 0, ended_ = 0;
};

// Waits for all the given tasks (duplicates and empty ids ignored) and
// returns how each ended. Failures are not reported here; see report_task_end.
std::map<std::string, TaskOutcome> wait_for_tasks(CloudTower& tower, const std::vector<std::string>& ids,
                                                  const TaskWaitSettings& settings);

// The exit code for a task that did not succeed: kExitNotFound for an unknown
// task, kExitTaskFailed for FAILED or timed out.
ExitCode exit_code_for(const TaskOutcome& outcome);

}  // namespace hci
