// Asynchronous tasks: every mutation answers at once with a task id; the task
// then moves PENDING -> EXECUTING -> SUCCESSED (or FAILED) over the task
// duration. Status is derived from the clock, so it survives a restart.
#include "libsim/ids.h"
#include "libsim/simulator.h"

namespace sim {

std::string Simulator::new_task(const std::string& description, const std::string& resource_type,
                                const std::string& resource_id, const std::string& mutation,
                                const json::value& cluster, bool fail, const std::string& error_code,
                                const std::string& error_message) {
    std::int64_t now = now_ms();
    std::string id = new_cuid();
    json::object task{{"id", id},
                      {"args", json::object{}},
                      {"cluster", cluster},
                      {"description", description},
                      {"error_code", nullptr},
                      {"error_message", nullptr},
                      {"finished_at", nullptr},
                      {"internal", false},
                      {"key", nullptr},
                      {"local_created_at", iso_time(now)},
                      {"progress", 0.0},
                      {"resource_id", resource_id},
                      {"resource_mutation", mutation},
                      {"resource_rollback_error", nullptr},
                      {"resource_rollback_retry_count", nullptr},
                      {"resource_rollbacked", nullptr},
                      {"resource_type", resource_type},
                      {"snapshot", "{}"},
                      {"started_at", iso_time(now)},
                      {"status", "PENDING"},
                      {"steps", json::array{}},
                      {"type", nullptr},
                      {"user", nullptr}};
    state_.edit("tasks").add(std::move(task));
    state_.edit("task_timers").add(json::object{{"id", id},
                                                {"start_ms", now},
                                                {"duration_ms", opts_.task_duration_ms},
                                                {"fail", fail},
                                                {"error_code", error_code},
                                                {"error_message", error_message},
                                                {"done", false}});
    refresh_tasks();
    return id;
}

void Simulator::refresh_tasks() {
    if (state_.view("task_timers").items().empty()) return;  // nothing in flight
    std::int64_t now = now_ms();
    bool changed = false;
    for (auto& timer : state_.edit("task_timers").items()) {
        if (timer.at("done").as_bool()) continue;
        changed = true;
        json::object* task = state_.edit("tasks").find(std::string(timer.at("id").as_string()));
        if (!task) {
            timer["done"] = true;
            continue;
        }
        std::int64_t start = timer.at("start_ms").as_int64();
        std::int64_t duration = timer.at("duration_ms").as_int64();
        std::int64_t elapsed = now - start;
        if (elapsed >= duration) {
            bool fail = timer.at("fail").as_bool();
            (*task)["status"] = fail ? "FAILED" : "SUCCESSED";
            (*task)["progress"] = fail ? task->at("progress").as_double() : 1.0;
            (*task)["finished_at"] = iso_time(start + duration);
            if (fail) {
                (*task)["error_code"] = timer.at("error_code");
                (*task)["error_message"] = timer.at("error_message");
            }
            timer["done"] = true;
        } else if (elapsed * 4 >= duration) {
            (*task)["status"] = "EXECUTING";
            (*task)["progress"] = static_cast<double>(elapsed) / static_cast<double>(duration);
        }
    }
    if (!changed) return;
    // Done timers no longer matter; drop them so refreshing stays cheap.
    state_.edit("task_timers").remove_if([](const json::object& t) { return t.at("done").as_bool(); });
}

}  // namespace sim
