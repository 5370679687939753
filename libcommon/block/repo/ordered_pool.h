#pragma once
// A fixed pool of threads that runs jobs and hands their results back in
// the order the jobs were submitted. The caller bounds memory: it decides
// how many jobs may be pending (submitted, result not yet taken) and takes
// the oldest result with next() before submitting more. A job's exception
// is rethrown by the next() that reaches that job, after every earlier
// result, so an error surfaces exactly where it belongs in the sequence.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace hci::repo {

template <class Result>
class OrderedPool {
public:
    explicit OrderedPool(size_t threads) {
        for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) threads_.emplace_back([this] { work(); });
    }
    ~OrderedPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            for (auto& s : slots_) s->job = nullptr;  // not started: never runs
        }
        wake_workers_.notify_all();
        for (auto& t : threads_) t.join();
    }
    OrderedPool(const OrderedPool&) = delete;
    OrderedPool& operator=(const OrderedPool&) = delete;

    // `job` may be move-only (it may own a chunk's buffer).
    template <class Job>
    void submit(Job job) {
        auto slot = std::make_shared<Slot>();
        slot->job = [held = std::make_shared<Job>(std::move(job))] { return (*held)(); };
        {
            std::lock_guard lock(mutex_);
            slots_.push_back(slot);
            queued_.push_back(slot);
        }
        wake_workers_.notify_one();
    }

    size_t pending() const {
        std::lock_guard lock(mutex_);
        return slots_.size();
    }

    // The oldest job's result, waiting for it; rethrows its exception.
    Result next() {
        std::unique_lock lock(mutex_);
        if (slots_.empty()) throw std::logic_error("OrderedPool::next with nothing pending");
        auto slot = slots_.front();
        done_.wait(lock, [&] { return slot->finished; });
        slots_.pop_front();
        lock.unlock();
        if (slot->error) std::rethrow_exception(slot->error);
        return std::move(*slot->result);
    }

    // Drops every pending job: queued ones never run, running ones finish
    // and their results (or exceptions) are discarded.
    void discard() {
        std::unique_lock lock(mutex_);
        queued_.clear();
        for (auto& s : slots_) done_.wait(lock, [&] { return s->finished || !s->started; });
        slots_.clear();
    }

private:
    struct Slot {
        std::function<Result()> job;
        std::optional<Result> result;
        std::exception_ptr error;
        bool started = false;
        bool finished = false;
    };

    void work() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_workers_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
            if (stopping_) return;
            auto slot = queued_.front();
            queued_.pop_front();
            slot->started = true;
            auto job = std::move(slot->job);
            lock.unlock();
            std::optional<Result> result;
            std::exception_ptr error;
            try {
                result.emplace(job());
            } catch (...) {
                error = std::current_exception();
            }
            job = nullptr;  // free what the job captured before waking the consumer
            lock.lock();
            slot->result = std::move(result);
            slot->error = error;
            slot->finished = true;
            done_.notify_all();
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable wake_workers_, done_;
    std::deque<std::shared_ptr<Slot>> slots_;   // pending, in submission order
    std::deque<std::shared_ptr<Slot>> queued_;  // not started yet
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace hci::repo
