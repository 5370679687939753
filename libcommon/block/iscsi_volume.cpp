#include "libcommon/block/iscsi_volume.h"

// libiscsi's headers are C and declare with plain "struct" names.
extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>

#include "libcommon/base/error.h"
#include "libcommon/block/iscsi_url.h"
#include "libcommon/base/log.h"

namespace hci {
namespace {

// Bounds on what we retry; the header documents them.
constexpr int kReconnectAttempts = 5;       // logins tried after a connection is lost
constexpr int kMaxReissues = 3;             // times one command is resent after a lost connection
constexpr int kMaxUnitAttentionRetries = 5; // a reset / new nexus is reported once per command
constexpr int kMaxBusyRetries = 200;        // BUSY / TASK SET FULL, 10 ms apart
constexpr int kTaskTimeoutSeconds = 60;     // a command the target never answers
constexpr size_t kDefaultCommandBytes = 1u << 20;
constexpr size_t kWriteCommandBytes = 256u << 10;
constexpr uint32_t kMaxWriteSameBlocks = 1u << 22;
constexpr uint32_t kMaxUnmapBlocks = 1u << 22;

std::string hex(unsigned v, int width) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*x", width, v);
    return buf;
}

std::string status_text(int status) {
    switch (status) {
    case SCSI_STATUS_GOOD: return "GOOD";
    case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
    case SCSI_STATUS_CONDITION_MET: return "CONDITION MET";
    case SCSI_STATUS_BUSY: return "BUSY";
    case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
    case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
    case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
    case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
    case SCSI_STATUS_CANCELLED: return "cancelled (connection lost)";
    case SCSI_STATUS_ERROR: return "transport error";
    case SCSI_STATUS_TIMEOUT: return "timed out";
    default: return "status " + hex(static_cast<unsigned>(status), 2);
    }
}

// "sense key ILLEGAL_REQUEST (0x5), ASC/ASCQ 0x25/0x00 (LOGICAL_UNIT_NOT_SUPPORTED)"
std::string sense_text(const scsi_sense& s) {
    std::string text = "sense key ";
    const char* key = scsi_sense_key_str(s.key);
    text += (key ? key : "?");
    text += " (" + hex(s.key, 1) + "), ASC/ASCQ " + hex((s.ascq >> 8) & 0xff, 2) + "/" + hex(s.ascq & 0xff, 2);
    const char* ascq = scsi_sense_ascq_str(s.ascq);
    if (ascq && *ascq) text += std::string(" (") + ascq + ")";
    return text;
}

// A CHECK CONDITION, kept apart so callers can fall back when a LUN rejects
// an optional command (WRITE SAME, SYNCHRONIZE CACHE(16)).
class ScsiError : public Error {
public:
    ScsiError(const std::string& message, const scsi_sense& sense) : Error(kExitIo, message), sense_(sense) {}
    bool illegal_request() const { return sense_.key == SCSI_SENSE_ILLEGAL_REQUEST; }
    bool lun_gone() const {
        return sense_.key == SCSI_SENSE_ILLEGAL_REQUEST && sense_.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED;
    }

private:
    scsi_sense sense_;
};

// libiscsi's messages for a refused TCP connection are muddled ("Can not
// reconnect right now"); a plain connect() says what is wrong.
std::string tcp_problem(const IscsiUrl& url) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &res);
    if (rc != 0) return std::string("cannot resolve ") + url.host + ": " + gai_strerror(rc);
    std::string problem = "no address";
    for (addrinfo* a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        bool ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        problem = ok ? "" : "connect to " + url.portal() + ": " + errno_text(errno);
        close(fd);
        if (ok) break;
    }
    freeaddrinfo(res);
    return problem;
}

class IscsiVolume;

// One SCSI command of a batch. start() queues it on a context; on_good()
// consumes its data-in before the task is freed.
struct Command {
    std::string what;  // "READ(16) LBA 2048 x 512" for messages
    std::function<scsi_task*(iscsi_context*, iscsi_command_cb, void*)> start;
    std::function<void(scsi_task*)> on_good;

    IscsiVolume* owner = nullptr;
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

void command_done(iscsi_context*, int status, void*, void* private_data);

// Commands driven together: not yet issued, in flight, and how many are
// not finished yet.
struct Group {
    std::deque<Command*> pending;
    std::vector<Command*> flying;
    size_t remaining = 0;
    void add(Command* c) {
        pending.push_back(c);
        ++remaining;
    }
};

class IscsiVolume : public Volume {
public:
    IscsiVolume(IscsiUrl url, OpenMode mode, const VolumeOptions& options)
        : url_(std::move(url)),
          mode_(mode),
          secret_(options.chap_secret),
          initiator_(options.initiator_iqn.empty() ? default_initiator_iqn() : options.initiator_iqn),
          queue_depth_(std::clamp(options.queue_depth, 1u, 256u)) {
        if (!url_.user.empty() && secret_.empty())
            fail(kExitUsage, url_.str() + ": CHAP user '" + url_.user +
                                 "' given but no CHAP secret (use --chap-secret-file or ZADP_CHAP_SECRET)");
        std::string error;
        if (!login(error)) fail(kExitIo, login_failure_message(error));
        try {
            probe();
        } catch (...) {
            disconnect(true);
            throw;
        }
    }

    ~IscsiVolume() override {
        finish_writes();
        log_info(describe() + ": read " + std::to_string(stats_.bytes_read) + " bytes in " +
                 std::to_string(stats_.reads) + " commands, wrote " + std::to_string(stats_.bytes_written) +
                 " bytes in " + std::to_string(stats_.writes) + " commands, zeroed " +
                 std::to_string(stats_.bytes_zeroed) + " bytes, " + std::to_string(stats_.lba_status_queries) +
                 " GET LBA STATUS, " + std::to_string(stats_.reconnects) + " reconnects");
        disconnect(true);
    }

    uint64_t size() const override { return size_; }
    uint32_t block_size() const override { return block_; }
    size_t max_io_size() const override {
        return std::max<size_t>(8u << 20, size_t(2) * queue_depth_ * command_bytes_);
    }
    std::string describe() const override { return url_.str(); }

    std::vector<Extent> extents(uint64_t offset, uint64_t length) override;
    void read(uint64_t offset, void* buf, size_t length) override;
    void write(uint64_t offset, const void* buf, size_t length) override;
    bool zero(uint64_t offset, uint64_t length) override;
    void flush() override;

    void completed(Command* c) { completed_.push_back(c); }

private:
    struct Stats {
        uint64_t bytes_read = 0, reads = 0, bytes_written = 0, writes = 0, bytes_zeroed = 0;
        uint64_t lba_status_queries = 0, reconnects = 0;
    };

    bool login(std::string& error);
    void disconnect(bool logout);
    std::string login_failure_message(const std::string& error) const;
    void reconnect(const std::string& reason);
    void probe();
    void run(std::vector<Command>& commands, bool drain_writes = true);
    void run_one(Command command, bool drain_writes = true);
    void drive(Group& group, size_t until_remaining, bool send_all);
    void drain_writes();
    void finish_writes();
    void wait_and_service(bool& lost, std::string& reason);
    bool handle_completion(Command* c, std::deque<Command*>& pending, std::string& lost_reason);
    void require_writable(const char* op) const;
    void check_range(uint64_t offset, uint64_t length, const char* op) const;
    bool aligned(uint64_t v) const { return v % block_ == 0; }

    void read_aligned(uint64_t offset, unsigned char* buf, size_t length);
    void write_aligned(uint64_t offset, const unsigned char* buf, size_t length);
    void run_in_block_ranges(uint64_t offset, uint64_t length, uint64_t max_blocks,
                             const std::function<Command(uint64_t, uint32_t)>& make);
    void zero_by_write_same(uint64_t offset, uint64_t length);
    void zero_by_unmap(uint64_t offset, uint64_t length);

    Command make_rw(bool is_write, uint64_t lba, uint32_t bytes, unsigned char* buf);

    IscsiUrl url_;
    OpenMode mode_;
    std::string secret_;
    std::string initiator_;
    unsigned queue_depth_;

    iscsi_context* ctx_ = nullptr;
    std::vector<Command*> completed_;
    // Write-behind: write() returns once its data is copied and sent; the
    // commands complete while the caller prepares the next chunk. Every
    // other operation drains them first, so their errors surface there
    // (at the latest in flush()).
    Group writes_;
    std::deque<Command> behind_;

    uint64_t size_ = 0;
    uint32_t block_ = 512;
    bool lbpme_ = false, lbprz_ = false;
    bool write_same_unmap_ = false, unmap_ = false, sync16_ = true;
    size_t command_bytes_ = kDefaultCommandBytes;
    uint32_t max_write_same_blocks_ = kMaxWriteSameBlocks;
    uint32_t max_unmap_blocks_ = kMaxUnmapBlocks;
    std::vector<unsigned char> zeros_;
    Stats stats_;
};

void command_done(iscsi_context*, int status, void*, void* private_data) {
    auto* c = static_cast<Command*>(private_data);
    c->status = status;
    if (status == SCSI_STATUS_CHECK_CONDITION && c->task) c->sense = c->task->sense;
    c->owner->completed(c);
}

// ---- connection ----------------------------------------------------------

bool IscsiVolume::login(std::string& error) {
    iscsi_context* ctx = iscsi_create_context(initiator_.c_str());
    if (!ctx) {
        error = "cannot create an iSCSI context for initiator '" + initiator_ + "'";
        return false;
    }
    iscsi_set_targetname(ctx, url_.target.c_str());
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    // We reconnect ourselves so that retries are bounded and every command
    // in flight is accounted for (libiscsi's own reconnect retries forever).
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_timeout(ctx, kTaskTimeoutSeconds);
    if (!url_.user.empty()) iscsi_set_initiator_username_pwd(ctx, url_.user.c_str(), secret_.c_str());
    if (iscsi_full_connect_sync(ctx, url_.portal().c_str(), url_.lun) != 0) {
        error = iscsi_get_error(ctx);
        std::string tcp = tcp_problem(url_);
        if (!tcp.empty()) error = tcp;
        iscsi_destroy_context(ctx);
        return false;
    }
    ctx_ = ctx;
    return true;
}

void IscsiVolume::disconnect(bool logout) {
    if (!ctx_) return;
    if (logout && iscsi_is_logged_in(ctx_)) iscsi_logout_sync(ctx_);
    // Any command still in flight gets a CANCELLED callback here.
    iscsi_destroy_context(ctx_);
    ctx_ = nullptr;
}

std::string IscsiVolume::login_failure_message(const std::string& error) const {
    std::string msg = url_.str() + ": login as initiator " + initiator_ + " failed: " + error;
    if (error.find("uthori") != std::string::npos || error.find("uthenti") != std::string::npos ||
        error.find("CHAP") != std::string::npos)
        msg += " (is the initiator IQN allowed by the target's ACL, and are the CHAP user and secret right?)";
    else if (error.find("not found") != std::string::npos)
        msg += " (is the target IQN right, and is the initiator IQN allowed by the target's ACL?)";
    return msg;
}

// The connection died under commands in flight: log in again, a bounded
// number of times with back-off, and check that it is still the same LUN.
void IscsiVolume::reconnect(const std::string& reason) {
    ++stats_.reconnects;
    log_warning(describe() + ": connection lost (" + reason + "), reconnecting");
    disconnect(false);
    std::string error;
    auto delay = std::chrono::milliseconds(250);
    for (int attempt = 1; attempt <= kReconnectAttempts; ++attempt) {
        std::this_thread::sleep_for(delay);
        delay *= 2;
        if (login(error)) break;
        log_debug(describe() + ": reconnect attempt " + std::to_string(attempt) + " failed: " + error);
        if (attempt == kReconnectAttempts)
            fail(kExitIo, describe() + ": connection lost (" + reason + ") and reconnecting failed after " +
                              std::to_string(kReconnectAttempts) + " attempts: " + error);
    }
    uint64_t old_size = size_;
    uint32_t old_block = block_;
    probe();
    if (size_ != old_size || block_ != old_block)
        fail(kExitIo, describe() + ": the LUN changed size after a reconnect (" + std::to_string(old_size) + " -> " +
                          std::to_string(size_) + " bytes)");
    log_info(describe() + ": reconnected");
}

// ---- the command engine --------------------------------------------------

// Runs a batch with up to queue_depth commands in flight, reissuing those a
// lost connection took with it. Throws on the first command that fails.
void IscsiVolume::run(std::vector<Command>& commands, bool drain) {
    if (drain) drain_writes();
    Group group;
    for (auto& c : commands) {
        c.owner = this;
        group.add(&c);
    }
    drive(group, 0, false);
}

void IscsiVolume::run_one(Command command, bool drain) {
    std::vector<Command> batch;
    batch.push_back(std::move(command));
    run(batch, drain);
}

// Issues the group's commands, up to queue_depth in flight, until at most
// until_remaining are unfinished (and, with send_all, all queued data has
// left for the socket). Commands a lost connection took with it are
// reissued after a reconnect. Throws on the first command that fails.
void IscsiVolume::drive(Group& g, size_t until_remaining, bool send_all) {
    completed_.clear();
    try {
        while (g.remaining > until_remaining || (send_all && ctx_ && iscsi_out_queue_length(ctx_) > 0)) {
            if (!ctx_) reconnect("the previous operation failed");
            std::string lost_reason;
            while (g.flying.size() < queue_depth_ && !g.pending.empty()) {
                Command* c = g.pending.front();
                c->task = c->start(ctx_, command_done, c);
                if (!c->task) {
                    lost_reason = std::string("cannot queue ") + c->what + ": " + iscsi_get_error(ctx_);
                    break;
                }
                g.pending.pop_front();
                c->in_flight = true;
                g.flying.push_back(c);
            }
            bool lost = !lost_reason.empty();
            if (!lost) wait_and_service(lost, lost_reason);

            std::vector<Command*> done;
            done.swap(completed_);
            for (Command* c : done) {
                if (!c->in_flight) continue;
                c->in_flight = false;
                auto mine = std::find(g.flying.begin(), g.flying.end(), c);
                if (mine == g.flying.end()) continue;  // cannot happen: groups never overlap
                g.flying.erase(mine);
                if (handle_completion(c, g.pending, lost_reason)) --g.remaining;
                if (!lost_reason.empty()) lost = true;
            }
            if (lost) {
                // Destroying the context cancels what is still in flight;
                // all of it is sent again on the new connection.
                disconnect(false);
                completed_.clear();
                for (auto it = g.flying.rbegin(); it != g.flying.rend(); ++it) {
                    Command* c = *it;
                    c->in_flight = false;
                    c->free_task();
                    if (++c->reissues > kMaxReissues)
                        fail(kExitIo, describe() + ": " + c->what + " failed: connection lost " +
                                          std::to_string(c->reissues) + " times");
                    g.pending.push_front(c);
                }
                g.flying.clear();
                reconnect(lost_reason);
            }
        }
    } catch (...) {
        // No callback may reach a Command after its group is gone: drop a
        // connection that still carries some (the next call reconnects).
        if (!g.flying.empty()) disconnect(false);
        completed_.clear();
        for (Command* c : g.flying) c->free_task();
        g.flying.clear();
        g.pending.clear();
        g.remaining = 0;
        throw;
    }
}

void IscsiVolume::drain_writes() {
    try {
        if (writes_.remaining > 0) drive(writes_, 0, false);
    } catch (...) {
        behind_.clear();
        throw;
    }
    behind_.clear();
}

// At destruction: complete what was written unless we are unwinding from an
// error anyway, in which case the writes are abandoned.
void IscsiVolume::finish_writes() {
    if (writes_.remaining == 0) return;
    if (std::uncaught_exceptions() == 0) {
        try {
            drain_writes();
            return;
        } catch (const std::exception& e) {
            log_error(e.what());
        }
    }
    if (!writes_.flying.empty()) disconnect(false);
    completed_.clear();
    for (Command* c : writes_.flying) c->free_task();
    writes_ = Group{};
    behind_.clear();
}

void IscsiVolume::wait_and_service(bool& lost, std::string& reason) {
    int events = iscsi_which_events(ctx_);
    if (events == 0) {
        // libiscsi asks to be left alone for a while (documented: >= 100 ms).
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return;
    }
    pollfd pfd{iscsi_get_fd(ctx_), static_cast<short>(events), 0};
    int n = poll(&pfd, 1, 1000);
    if (n < 0) {
        if (errno == EINTR) return;
        fail(kExitIo, describe() + ": poll: " + errno_text(errno));
    }
    // revents 0 on a timeout still lets libiscsi expire overdue commands.
    if (iscsi_service(ctx_, n > 0 ? pfd.revents : 0) < 0) {
        lost = true;
        reason = iscsi_get_error(ctx_);
        if (reason.empty()) reason = "iscsi_service failed";
    }
}

// Returns true when the command is finished for good; requeues it or throws
// otherwise. Sets lost_reason when the connection has to be re-established.
bool IscsiVolume::handle_completion(Command* c, std::deque<Command*>& pending, std::string& lost_reason) {
    int status = c->status;
    if (status == SCSI_STATUS_GOOD) {
        if (c->on_good) c->on_good(c->task);
        c->free_task();
        c->finished = true;
        c->data.reset();
        return true;
    }
    c->free_task();
    if (status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_ERROR || status == SCSI_STATUS_TIMEOUT) {
        if (++c->reissues > kMaxReissues)
            fail(kExitIo, describe() + ": " + c->what + " failed: " + status_text(status) + " " +
                              std::to_string(c->reissues) + " times");
        if (lost_reason.empty()) lost_reason = c->what + " " + status_text(status);
        pending.push_front(c);
        return false;
    }
    if (status == SCSI_STATUS_BUSY || status == SCSI_STATUS_TASK_SET_FULL) {
        if (++c->busy > kMaxBusyRetries)
            fail(kExitIo, describe() + ": " + c->what + ": target stayed " + status_text(status));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        pending.push_back(c);
        return false;
    }
    if (status == SCSI_STATUS_CHECK_CONDITION) {
        const scsi_sense& s = c->sense;
        bool resized = s.ascq == SCSI_SENSE_ASCQ_CAPACITY_DATA_HAS_CHANGED;
        if (s.key == SCSI_SENSE_UNIT_ATTENTION && !resized && ++c->unit_attentions <= kMaxUnitAttentionRetries) {
            log_debug(describe() + ": " + c->what + ": unit attention (" + sense_text(s) + "), retrying");
            pending.push_front(c);
            return false;
        }
        std::string msg = describe() + ": " + c->what + " failed: CHECK CONDITION, " + sense_text(s);
        if (s.key == SCSI_SENSE_ILLEGAL_REQUEST && s.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED)
            msg += "; the LUN is gone from the target";
        if (resized) msg += "; the LUN was resized during the copy";
        throw ScsiError(msg, s);
    }
    fail(kExitIo, describe() + ": " + c->what + " failed: " + status_text(status));
}

// ---- discovery -------------------------------------------------------------

void IscsiVolume::probe() {
    scsi_readcapacity16 cap{};
    bool have_cap = false;
    // probe() runs inside a reconnect too, with writes queued: never drain them here.
    run_one({"READ CAPACITY(16)",
             [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                 return iscsi_readcapacity16_task(ctx, url_.lun, cb, p);
             },
             [&](scsi_task* t) {
                 if (auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t))) {
                     cap = *rc;
                     have_cap = true;
                 }
             }},
            false);
    if (!have_cap || cap.block_length == 0 || cap.block_length % 512 != 0)
        fail(kExitIo, describe() + ": READ CAPACITY(16) returned no usable capacity");
    block_ = cap.block_length;
    size_ = (cap.returned_lba + 1) * block_;
    lbpme_ = cap.lbpme;
    lbprz_ = cap.lbprz;
    zeros_.assign(block_, 0);

    // Optional VPD pages; a LUN without them simply gets the defaults.
    auto inquiry = [this](int page, std::function<void(scsi_task*)> use) {
        try {
            run_one({"INQUIRY VPD " + hex(page, 2),
                     [this, page](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                         return iscsi_inquiry_task(ctx, url_.lun, 1, page, 255, cb, p);
                     },
                     std::move(use)},
                    false);
        } catch (const ScsiError& e) {
            if (!e.illegal_request()) throw;
        }
    };
    std::vector<int> pages;
    inquiry(SCSI_INQUIRY_PAGECODE_SUPPORTED_VPD_PAGES, [&](scsi_task* t) {
        if (auto* sp = static_cast<scsi_inquiry_supported_pages*>(scsi_datain_unmarshall(t)))
            pages.assign(sp->pages, sp->pages + sp->num_pages);
    });
    auto has = [&](int page) { return std::find(pages.begin(), pages.end(), page) != pages.end(); };

    command_bytes_ = kDefaultCommandBytes;
    if (has(SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS)) {
        inquiry(SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, [&](scsi_task* t) {
            auto* bl = static_cast<scsi_inquiry_block_limits*>(scsi_datain_unmarshall(t));
            if (!bl) return;
            if (bl->max_xfer_len)
                command_bytes_ = std::min<uint64_t>(command_bytes_, uint64_t(bl->max_xfer_len) * block_);
            if (bl->max_ws_len) max_write_same_blocks_ = uint32_t(std::min<uint64_t>(bl->max_ws_len, kMaxWriteSameBlocks));
            if (bl->max_unmap) max_unmap_blocks_ = std::min(bl->max_unmap, kMaxUnmapBlocks);
        });
    }
    command_bytes_ = std::max<size_t>(block_, command_bytes_ / block_ * block_);

    write_same_unmap_ = unmap_ = false;
    if (lbpme_ && has(SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING)) {
        inquiry(SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, [&](scsi_task* t) {
            auto* lbp = static_cast<scsi_inquiry_logical_block_provisioning*>(scsi_datain_unmarshall(t));
            if (!lbp) return;
            write_same_unmap_ = lbp->lbpws;
            // UNMAP may leave blocks mapped; only when unmapped blocks read
            // as zeros does it make a range read as zeros.
            unmap_ = lbp->lbpu && lbprz_;
        });
    }
    log_info(describe() + ": " + std::to_string(size_) + " bytes, block " + std::to_string(block_) +
             ", LBPME " + std::to_string(lbpme_) + ", LBPRZ " + std::to_string(lbprz_) + ", command size " +
             std::to_string(command_bytes_) + ", WRITE SAME+UNMAP " + (write_same_unmap_ ? "yes" : "no") +
             ", UNMAP " + (unmap_ ? "yes" : "no") + ", queue depth " + std::to_string(queue_depth_));
}

// ---- Volume --------------------------------------------------------------

void IscsiVolume::check_range(uint64_t offset, uint64_t length, const char* op) const {
    if (offset > size_ || length > size_ - offset)
        fail(kExitIo, describe() + ": " + op + " of " + std::to_string(length) + " bytes at " +
                          std::to_string(offset) + " is beyond the end of the LUN (" + std::to_string(size_) +
                          " bytes)");
}

void IscsiVolume::require_writable(const char* op) const {
    if (mode_ != OpenMode::Write) fail(kExitUsage, describe() + ": " + op + " on a LUN opened for reading");
}

std::vector<Extent> IscsiVolume::extents(uint64_t offset, uint64_t length) {
    check_range(offset, length, "allocation query");
    std::vector<Extent> out;
    auto add = [&](uint64_t off, uint64_t len, bool allocated) {
        if (len == 0) return;
        if (!out.empty() && out.back().allocated == allocated && out.back().offset + out.back().length == off)
            out.back().length += len;
        else
            out.push_back({off, len, allocated});
    };
    // Unmapped blocks are zeros only when the LUN says so (LBPRZ); otherwise
    // everything is read, which is slower but never wrong.
    if (!lbpme_ || !lbprz_) {
        add(offset, length, true);
        return out;
    }
    const uint64_t end = offset + length;
    uint64_t pos = offset;
    while (pos < end) {
        uint64_t lba = pos / block_;
        std::vector<scsi_lba_status_descriptor> descs;
        ++stats_.lba_status_queries;
        run_one({"GET LBA STATUS LBA " + std::to_string(lba),
                 [this, lba](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                     return iscsi_get_lba_status_task(ctx, url_.lun, lba, 8 + 16 * 256, cb, p);
                 },
                 [&](scsi_task* t) {
                     if (auto* st = static_cast<scsi_get_lba_status*>(scsi_datain_unmarshall(t)))
                         descs.assign(st->descriptors, st->descriptors + st->num_descriptors);
                 }});
        uint64_t before = pos;
        for (const auto& d : descs) {
            uint64_t d_start = d.lba * block_;
            uint64_t d_end = (d.lba + d.num_blocks) * block_;
            if (d_end <= pos) continue;
            if (d_start > pos) add(pos, std::min(d_start, end) - pos, true);  // a gap: read it
            pos = std::max(pos, d_start);
            if (pos >= end) break;
            uint64_t stop = std::min(d_end, end);
            add(pos, stop - pos, d.provisioning == SCSI_PROVISIONING_TYPE_MAPPED);
            pos = stop;
            if (pos >= end) break;
        }
        if (pos == before) {  // the target told us nothing new: read the rest
            add(pos, end - pos, true);
            pos = end;
        }
    }
    return out;
}

Command IscsiVolume::make_rw(bool is_write, uint64_t lba, uint32_t bytes, unsigned char* buf) {
    Command c;
    c.what = std::string(is_write ? "WRITE(16)" : "READ(16)") + " LBA " + std::to_string(lba) + " x " +
             std::to_string(bytes / block_);
    c.lba = lba;
    c.blocks = bytes / block_;
    int lun = url_.lun;
    uint32_t bs = block_;
    if (is_write) {
        c.start = [=](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            return iscsi_write16_task(ctx, lun, lba, buf, bytes, bs, 0, 0, 0, 0, 0, cb, p);
        };
    } else {
        c.start = [=](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            scsi_task* t = iscsi_read16_task(ctx, lun, lba, bytes, bs, 0, 0, 0, 0, 0, cb, p);
            // Data-in lands straight in the caller's buffer.
            if (t) scsi_task_add_data_in_buffer(t, static_cast<int>(bytes), buf);
            return t;
        };
    }
    return c;
}

void IscsiVolume::read_aligned(uint64_t offset, unsigned char* buf, size_t length) {
    std::vector<Command> batch;
    for (size_t done = 0; done < length; done += command_bytes_) {
        auto n = static_cast<uint32_t>(std::min(command_bytes_, length - done));
        batch.push_back(make_rw(false, (offset + done) / block_, n, buf + done));
    }
    run(batch);
    stats_.bytes_read += length;
    stats_.reads += batch.size();
}

void IscsiVolume::write_aligned(uint64_t offset, const unsigned char* buf, size_t length) {
    // Commands in flight may complete in any order: a write over a range
    // still being written waits for that first.
    uint64_t first = offset / block_, last = (offset + length) / block_;
    bool overlaps = std::any_of(behind_.begin(), behind_.end(), [&](const Command& c) {
        return !c.finished && c.lba < last && first < c.lba + c.blocks;
    });
    if (overlaps) drain_writes();
    // The caller may reuse its buffer as soon as we return: keep a copy.
    auto data = std::make_shared<std::vector<unsigned char>>(buf, buf + length);
    // Writes no larger than libiscsi's FirstBurstLength go out unsolicited,
    // without waiting for the target's R2T: measurably faster than 1 MiB.
    size_t step = std::min(command_bytes_, kWriteCommandBytes);
    for (size_t done = 0; done < length; done += step) {
        auto n = static_cast<uint32_t>(std::min(step, length - done));
        behind_.push_back(make_rw(true, (offset + done) / block_, n, data->data() + done));
        Command& c = behind_.back();
        c.owner = this;
        c.data = data;
        writes_.add(&c);
        ++stats_.writes;
    }
    stats_.bytes_written += length;
    try {
        // Leave up to queue_depth commands running while the caller works.
        drive(writes_, queue_depth_, true);
        while (!behind_.empty() && behind_.front().finished) behind_.pop_front();
        if (behind_.size() > 16 * size_t(queue_depth_)) drain_writes();  // a straggler holds the list
    } catch (...) {
        behind_.clear();
        throw;
    }
}

void IscsiVolume::read(uint64_t offset, void* buf, size_t length) {
    check_range(offset, length, "read");
    auto* out = static_cast<unsigned char*>(buf);
    if (aligned(offset) && aligned(length)) return read_aligned(offset, out, length);
    // Unaligned: read the covering blocks and copy the part asked for.
    uint64_t start = offset / block_ * block_;
    uint64_t end = (offset + length + block_ - 1) / block_ * block_;
    std::vector<unsigned char> tmp(end - start);
    read_aligned(start, tmp.data(), tmp.size());
    std::memcpy(out, tmp.data() + (offset - start), length);
}

void IscsiVolume::write(uint64_t offset, const void* buf, size_t length) {
    require_writable("write");
    check_range(offset, length, "write");
    auto* in = static_cast<const unsigned char*>(buf);
    if (aligned(offset) && aligned(length)) return write_aligned(offset, in, length);
    // Unaligned: read-modify-write of the covering blocks.
    uint64_t start = offset / block_ * block_;
    uint64_t end = (offset + length + block_ - 1) / block_ * block_;
    std::vector<unsigned char> tmp(end - start);
    read_aligned(start, tmp.data(), block_);
    read_aligned(end - block_, tmp.data() + tmp.size() - block_, block_);
    std::memcpy(tmp.data() + (offset - start), in, length);
    write_aligned(start, tmp.data(), tmp.size());
}

// Splits [offset, offset+length) into commands of at most max_blocks blocks
// each, built by make(lba, blocks), and runs them all in flight.
void IscsiVolume::run_in_block_ranges(uint64_t offset, uint64_t length, uint64_t max_blocks,
                                      const std::function<Command(uint64_t, uint32_t)>& make) {
    std::vector<Command> batch;
    for (uint64_t done = 0; done < length;) {
        uint64_t lba = (offset + done) / block_;
        auto blocks = static_cast<uint32_t>(std::min<uint64_t>(max_blocks, (length - done) / block_));
        batch.push_back(make(lba, blocks));
        done += uint64_t(blocks) * block_;
    }
    run(batch);
}

void IscsiVolume::zero_by_write_same(uint64_t offset, uint64_t length) {
    run_in_block_ranges(offset, length, max_write_same_blocks_, [this](uint64_t lba, uint32_t blocks) {
        Command c;
        c.what = "WRITE SAME(16) UNMAP LBA " + std::to_string(lba) + " x " + std::to_string(blocks);
        c.start = [this, lba, blocks](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            return iscsi_writesame16_task(ctx, url_.lun, lba, zeros_.data(), block_, blocks, 0, 1, 0, 0, cb, p);
        };
        return c;
    });
}

void IscsiVolume::zero_by_unmap(uint64_t offset, uint64_t length) {
    run_in_block_ranges(offset, length, max_unmap_blocks_, [this](uint64_t lba, uint32_t blocks) {
        Command c;
        c.what = "UNMAP LBA " + std::to_string(lba) + " x " + std::to_string(blocks);
        c.start = [this, lba, blocks](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            unmap_list range{lba, blocks};  // copied into the CDB's data-out
            return iscsi_unmap_task(ctx, url_.lun, 0, 0, &range, 1, cb, p);
        };
        return c;
    });
}

bool IscsiVolume::zero(uint64_t offset, uint64_t length) {
    require_writable("zero");
    check_range(offset, length, "zero");
    if (length == 0) return true;
    // Partial blocks (only ever at the end of a LUN) are the copy loop's to write.
    if (!aligned(offset) || !aligned(length)) return false;
    drain_writes();  // so that a failed write is not taken for a refused WRITE SAME
    if (write_same_unmap_) {
        try {
            zero_by_write_same(offset, length);
            stats_.bytes_zeroed += length;
            return true;
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            log_info(describe() + ": WRITE SAME with UNMAP refused, writing zeros instead");
            write_same_unmap_ = false;
        }
    }
    if (unmap_) {
        try {
            zero_by_unmap(offset, length);
            stats_.bytes_zeroed += length;
            return true;
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            log_info(describe() + ": UNMAP refused, writing zeros instead");
            unmap_ = false;
        }
    }
    return false;
}

void IscsiVolume::flush() {
    if (mode_ != OpenMode::Write) return;
    drain_writes();
    if (sync16_) {
        try {
            return run_one({"SYNCHRONIZE CACHE(16)", [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                                return iscsi_synchronizecache16_task(ctx, url_.lun, 0, 0, 0, 0, cb, p);
                            }, {}});
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            sync16_ = false;
        }
    }
    run_one({"SYNCHRONIZE CACHE(10)", [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                 return iscsi_synchronizecache10_task(ctx, url_.lun, 0, 0, 0, 0, cb, p);
             }, {}});
}

}  // namespace

std::unique_ptr<Volume> open_iscsi_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    return std::make_unique<IscsiVolume>(parse_iscsi_url(url), mode, options);
}

}  // namespace hci
