#include "libcommon/api/tasks.h"

#include <algorithm>
#include <thread>

#include "libcommon/base/interrupt.h"
#include "libcommon/base/line_fields.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

}  // namespace

// Task.progress is a fraction; a server that reports percent is read as such.
void TaskPoller::note_progress(const json::object& task, Pending& pending) {
    const json::value* value = task.if_contains("progress");
    if (value && value->is_number()) {
        double p = value->to_number<double>();
        pending.progress = std::clamp(p > 1 ? p / 100 : p, 0.0, 1.0);
    }
    pending.description = text_field(task, "/description");
}

std::string TaskOutcome::describe() const {
    switch (status) {
        case kSucceeded:
            return "task " + id + " SUCCESSED";
        case kUnknown:
            return "task " + id + " is unknown to CloudTower";
        case kTimedOut:
            return "task " + id + " did not finish in time (last status " + text_field(task, "/status") + ")";
        case kFailed:
            break;
    }
    std::string code = text_field(task, "/error_code");
    std::string message = text_field(task, "/error_message");
    std::string line = "task " + id + " FAILED";
    if (!code.empty()) line += ": " + code;
    if (!message.empty()) line += ": " + message;
    if (code.empty() && message.empty()) line += " (no error_code or error_message given)";
    return line;
}

json::object TaskOutcome::summary() const {
    json::object s;
    s["id"] = id;
    for (const char* key : {"status", "progress", "finished_at"}) {
        const json::value* v = task.if_contains(key);
        s[key] = v ? *v : json::value(nullptr);
    }
    return s;
}

TaskPoller::TaskPoller(CloudTower& tower, TaskWaitSettings settings)
    : tower_(tower), settings_(settings), interval_s_(settings.interval_s), next_round_(Clock::now()) {}

void TaskPoller::add(const std::string& task_id, const std::string& label) {
    if (pending_.count(task_id)) return;
    if (pending_.empty()) {
        // New work after a quiet spell: look again soon rather than at the backed-off pace.
        interval_s_ = settings_.interval_s;
        next_round_ = Clock::now() + to_ms(interval_s_);
    }
    Pending pending;
    pending.added = Clock::now();
    pending.label = label;
    pending_[task_id] = std::move(pending);
    ++added_;
}

TaskProgress TaskPoller::progress() const {
    TaskProgress p;
    p.done = ended_;
    p.total = added_;
    for (const auto& [id, task] : pending_) {
        if (!p.slowest_id.empty() && task.progress >= p.slowest_progress) continue;
        p.slowest_id = id;
        p.slowest_description = task.description;
        p.slowest_label = task.label;
        p.slowest_progress = task.progress;
    }
    return p;
}

long TaskPoller::ms_until_next_round() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_round_ - Clock::now()).count();
    return std::max(0L, static_cast<long>(left));
}

// The timeout bounds the whole wait, requests and their retries included: a
// round's get-tasks ends when the earliest pending task's time is up (or
// after a last look of a second, for a task already overdue).
json::array TaskPoller::query_within_timeout(json::array ids) {
    auto deadline = Clock::time_point::max();
    for (const auto& [_, p] : pending_) deadline = std::min(deadline, p.added + to_ms(settings_.timeout_s));
    deadline = std::max(deadline, Clock::now() + std::chrono::seconds(1));
    struct ClearDeadline {
        CloudTower& tower;
        ~ClearDeadline() { tower.set_deadline(std::nullopt); }
    } clear{tower_};
    tower_.set_deadline(deadline);
    return tower_.query_all("get-tasks", json::object{{"id_in", std::move(ids)}});
}

std::vector<TaskOutcome> TaskPoller::poll_round() {
    std::vector<TaskOutcome> ended;
    if (pending_.empty()) return ended;
    ++rounds_;
    json::array ids;
    for (const auto& [id, _] : pending_) ids.emplace_back(id);
    log_info("poll round " + std::to_string(rounds_) + ": " + std::to_string(ids.size()) + " pending task(s)");
    json::array tasks = query_within_timeout(std::move(ids));

    std::map<std::string, json::object> by_id;
    for (auto& t : tasks)
        if (t.is_object()) by_id[text_field(t.as_object(), "/id")] = std::move(t.as_object());

    const auto now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
        TaskOutcome outcome;
        outcome.id = it->first;
        auto found = by_id.find(it->first);
        bool done = false;
        if (found == by_id.end()) {
            done = ++it->second.missing_rounds >= settings_.unknown_rounds;
            outcome.status = TaskOutcome::kUnknown;
        } else {
            outcome.task = std::move(found->second);
            note_progress(outcome.task, it->second);
            const std::string status = text_field(outcome.task, "/status");
            if (status == "SUCCESSED") {
                done = true;
                outcome.status = TaskOutcome::kSucceeded;
            } else if (status == "FAILED") {
                done = true;
                outcome.status = TaskOutcome::kFailed;
            }
        }
        if (!done && now - it->second.added > to_ms(settings_.timeout_s)) {
            done = true;
            outcome.status = found == by_id.end() ? TaskOutcome::kUnknown : TaskOutcome::kTimedOut;
        }
        if (done) {
            ++ended_;
            ended.push_back(std::move(outcome));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    interval_s_ = std::min(interval_s_ * 1.5, settings_.max_interval_s);
    next_round_ = Clock::now() + to_ms(interval_s_);
    return ended;
}

void TaskPoller::wait_all(const std::function<void(const TaskOutcome&)>& on_done) {
    const bool finish = settings_.on_interrupt != TaskWaitSettings::OnInterrupt::kThrow;
    bool told = settings_.on_interrupt == TaskWaitSettings::OnInterrupt::kIgnore;
    auto tell_once = [&] {
        if (told || !interrupted()) return;
        told = true;
        log_warning("interrupted: waiting for the " + std::to_string(pending_.size()) +
                    " task(s) already started (interrupt again to stop at once)");
    };
    while (!pending_.empty()) {
        if (finish) {
            for (long left = ms_until_next_round(); left > 0; left = ms_until_next_round()) {
                tell_once();
                std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 50L)));
            }
        } else {
            interruptible_sleep(ms_until_next_round());
        }
        auto ended = poll_round();
        if (finish) tell_once();
        else check_interrupted();  // a signal during the request counts too
        for (const auto& outcome : ended) on_done(outcome);
    }
}

std::map<std::string, TaskOutcome> wait_for_tasks(CloudTower& tower, const std::vector<std::string>& ids,
                                                  const TaskWaitSettings& settings) {
    TaskPoller poller(tower, settings);
    for (const auto& id : ids)
        if (!id.empty()) poller.add(id);
    std::map<std::string, TaskOutcome> outcomes;
    poller.wait_all([&](const TaskOutcome& o) { outcomes[o.id] = o; });
    return outcomes;
}

ExitCode exit_code_for(const TaskOutcome& outcome) {
    switch (outcome.status) {
        case TaskOutcome::kSucceeded:
            return kExitOk;
        case TaskOutcome::kUnknown:
            return kExitNotFound;
        default:
            return kExitTaskFailed;
    }
}

}  // namespace hci
