#include "task_wait.h"

#include <thread>

#include "libcommon/base/log.h"

namespace hci {

void TaskLineQueue::add(json::object line, std::optional<std::string> task_id) {
    queue_.push_back(Entry{std::move(line), std::move(task_id), !task_id, std::nullopt});
    emit_ready();
}

void TaskLineQueue::resolve(const TaskOutcome& outcome) {
    for (auto& entry : queue_) {
        if (entry.resolved || entry.task_id != outcome.id) continue;
        entry.resolved = true;
        entry.outcome = outcome;
        if (outcome.status != TaskOutcome::kSucceeded) {
            std::string context = line_context(entry.line);
            std::string message = outcome.describe() + (context.empty() ? "" : " (" + context + ")");
            if (fail_fast_) fail(exit_code_for(outcome), message);
            log_error(message);
            status_.note(exit_code_for(outcome));
        }
    }
    emit_ready();
}

void TaskLineQueue::finish(Entry& entry) {
    if (entry.outcome && entry.outcome->status != TaskOutcome::kSucceeded) return;  // dropped, reported
    if (entry.outcome) entry.line["task"] = entry.outcome->summary();
    out_.write(entry.line);
}

void TaskLineQueue::emit_ready() {
    if (ordered_) {
        while (!queue_.empty() && queue_.front().resolved) {
            finish(queue_.front());
            queue_.pop_front();
        }
        return;
    }
    for (auto it = queue_.begin(); it != queue_.end();) {
        if (!it->resolved) {
            ++it;
            continue;
        }
        finish(*it);
        it = queue_.erase(it);
    }
}

static void take_line(InputLine line, LineReader& in, TaskLineQueue& queue, TaskPoller& poller) {
    const json::value* task_id = find_field(line.object, line::kTaskId);
    if (!task_id) return in.reject(line.number, "no \"task_id\" in the line");
    if (task_id->is_null()) return queue.add(std::move(line.object), std::nullopt);
    if (!task_id->is_string() || task_id->as_string().empty())
        return in.reject(line.number, "\"task_id\" is not a string or null");
    std::string id(task_id->as_string());
    poller.add(id, line_context(line.object));
    queue.add(std::move(line.object), id);
}

std::string task_progress_text(const TaskProgress& progress) {
    std::string text =
        "tasks " + std::to_string(progress.done) + "/" + std::to_string(progress.total) + " done";
    if (progress.slowest_id.empty()) return text;
    // Names, not ids: CloudTower's description of the task, else what its
    // input line was about; an id alone says nothing to a person.
    const std::string& what = progress.slowest_description.empty() ? progress.slowest_label : progress.slowest_description;
    text += "; slowest " + std::to_string(static_cast<int>(progress.slowest_progress * 100)) + "%";
    return what.empty() ? text : text + " (" + printable_text(what, 60) + ")";
}

void wait_task_lines(CloudTower& tower, LineReader& in, TaskLineQueue& queue, const TaskWaitSettings& settings,
                     ProgressMode progress) {
    TaskPoller poller(tower, settings);
    StatusLine status(progress);
    auto show = [&] {
        if (status.due()) status.show(task_progress_text(poller.progress()));
    };
    while (!in.at_eof() || poller.pending() > 0) {
        if (!in.at_eof()) {
            // Wait for input, but no longer than until the next poll round is due.
            const int wait_ms = poller.pending() > 0 ? static_cast<int>(poller.ms_until_next_round()) : -1;
            if (in.wait_readable(wait_ms)) {
                if (auto line = in.next()) take_line(std::move(*line), in, queue, poller);
                show();
                continue;
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(poller.ms_until_next_round()));
        }
        for (const auto& outcome : poller.poll_round()) queue.resolve(outcome);
        show();
    }
    status.clear();
}

}  // namespace hci
