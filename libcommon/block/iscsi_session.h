#pragma once
// The iSCSI command engine under IscsiVolume: one logged-in session to a LUN
// (libiscsi, non-blocking), SCSI commands kept in flight up to the queue
// depth, write-behind, and the reconnect that reissues what a dropped
// connection took with it. It knows commands, not volumes.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libcommon/block/iscsi_url.h"
#include "libcommon/block/scsi_status.h"

namespace hci {

class IscsiSession;

// One SCSI command. start() queues it on a context; on_good() consumes its
// data-in before the task is freed.
struct IscsiCommand {
    std::string what;  // "READ(16) LBA 2048 x 512" for messages
    std::function<scsi_task*(iscsi_context*, iscsi_command_cb, void*)> start;
    std::function<void(scsi_task*)> on_good;

    IscsiSession* owner = nullptr;
    scsi_task* task = nullptr;  // ours: freed by us, never in the callback
    std::shared_ptr<std::vector<unsigned char>> data = nullptr;  // a write-behind copy of the caller's data
    uint64_t lba = 0;     // READ/WRITE: the range, to keep overlapping writes in order
    uint32_t blocks = 0;
    bool in_flight = false;
    bool finished = false;
    int status = 0;
    scsi_sense sense{};
    int reissues = 0, unit_attentions = 0, busy = 0;

    void free_task() {
        if (task) scsi_free_scsi_task(task);
        task = nullptr;
    }
};

class IscsiSession {
public:
    IscsiSession(IscsiUrl url, std::string secret, std::string initiator, unsigned queue_depth);
    ~IscsiSession();
    IscsiSession(const IscsiSession&) = delete;
    IscsiSession& operator=(const IscsiSession&) = delete;

    // Logs in; Error(kExitIo) saying why (and what to check) when refused.
    void connect();
    // Runs after every reconnect, before anything is reissued: the Volume
    // re-reads the capacity and fails when it is not the same LUN any more.
    void on_reconnect(std::function<void()> check) { on_reconnect_ = std::move(check); }

    // Runs a batch with up to queue_depth commands in flight, reissuing those
    // a lost connection took with it. Throws on the first command that fails.
    // Write-behind commands are completed first unless drain_writes is false.
    void run(std::vector<IscsiCommand>& commands, bool drain_writes = true);
    void run_one(IscsiCommand command, bool drain_writes = true);
    // Sends writes and returns with up to queue_depth of them still running;
    // a write over a range still in flight waits for that first. Errors
    // surface here or in the next call that drains them.
    void write_behind(std::vector<IscsiCommand> commands);
    void drain_writes();
    // At destruction time: drains unless unwinding from an error.
    void finish_writes();

    // Read-ahead: queue_reads() only queues its commands (they are issued,
    // up to queue_depth in flight, by whatever drives the session next);
    // wait_reads(n) returns once the n oldest queued reads are finished,
    // keeping the later ones in flight, so a reader that queues the next
    // range before waiting for the current one never lets the queue run dry.
    // Every other operation (run) first waits for all queued reads. Their
    // buffers must stay valid until wait_reads() collected them or
    // cancel_reads() returned; cancel_reads() drops them (disconnecting when
    // some are in flight; the next operation logs in again), after which no
    // data lands in their buffers.
    void queue_reads(std::vector<IscsiCommand> commands);
    void wait_reads(size_t count);
    void cancel_reads();

    const IscsiUrl& url() const { return url_; }
    std::string describe() const { return url_.str(); }
    unsigned queue_depth() const { return queue_depth_; }
    uint64_t reconnects() const { return reconnects_; }
    // The most commands of one kind (reads, writes...) in flight at once.
    size_t max_in_flight() const { return max_in_flight_; }
    void completed(IscsiCommand* c) { completed_.push_back(c); }

private:
    // Commands driven together: not yet issued, in flight, and how many are
    // not finished yet.
    struct Group {
        std::deque<IscsiCommand*> pending;
        std::vector<IscsiCommand*> flying;
        size_t remaining = 0;
        void add(IscsiCommand* c) {
            pending.push_back(c);
            ++remaining;
        }
    };

    bool login(std::string& error);
    void disconnect(bool logout);
    std::string login_failure_message(const std::string& error) const;
    void reconnect(const std::string& reason);
    void drive(Group& group, size_t until_remaining, bool send_all);
    void drive_until(Group& group, const std::function<bool()>& done);
    void finish_reads();
    void wait_and_service(bool& lost, std::string& reason);
    bool handle_completion(IscsiCommand* c, std::deque<IscsiCommand*>& pending, std::string& lost_reason);

    IscsiUrl url_;
    std::string secret_;
    std::string initiator_;
    unsigned queue_depth_;
    std::function<void()> on_reconnect_;
    uint64_t reconnects_ = 0;
    size_t max_in_flight_ = 0;

    iscsi_context* ctx_ = nullptr;
    std::vector<IscsiCommand*> completed_;
    // Write-behind: write_behind() returns once its data is sent; the
    // commands complete while the caller prepares the next chunk. Every
    // other operation drains them first, so their errors surface there.
    Group writes_;
    std::deque<IscsiCommand> behind_;
    // Read-ahead: queued reads, oldest first, until wait_reads() collects them.
    Group reads_;
    std::deque<IscsiCommand> ahead_;
};

}  // namespace hci
