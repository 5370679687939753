#include "libcommon/block/iscsi_session.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "libcommon/base/log.h"

namespace hci {
namespace {

// Bounds on what we retry; iscsi_volume.h documents them.
constexpr int kReconnectAttempts = 5;       // logins tried after a connection is lost
constexpr int kMaxReissues = 3;             // times one command is resent after a lost connection
constexpr int kMaxUnitAttentionRetries = 5; // a reset / new nexus is reported once per command
constexpr int kMaxBusyRetries = 200;        // BUSY / TASK SET FULL, 10 ms apart
constexpr int kTaskTimeoutSeconds = 60;     // a command the target never answers

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

void command_done(iscsi_context*, int status, void*, void* private_data) {
    auto* c = static_cast<IscsiCommand*>(private_data);
    c->status = status;
    if (status == SCSI_STATUS_CHECK_CONDITION && c->task) c->sense = c->task->sense;
    c->owner->completed(c);
}

}  // namespace

IscsiSession::IscsiSession(IscsiUrl url, std::string secret, std::string initiator, unsigned queue_depth)
    : url_(std::move(url)), secret_(std::move(secret)), initiator_(std::move(initiator)), queue_depth_(queue_depth) {}

IscsiSession::~IscsiSession() {
    cancel_reads();
    finish_writes();
    disconnect(true);
}

void IscsiSession::connect() {
    std::string error;
    if (!login(error)) fail(kExitIo, login_failure_message(error));
}

bool IscsiSession::login(std::string& error) {
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

void IscsiSession::disconnect(bool logout) {
    if (!ctx_) return;
    if (logout && iscsi_is_logged_in(ctx_)) iscsi_logout_sync(ctx_);
    // Any command still in flight gets a CANCELLED callback here.
    iscsi_destroy_context(ctx_);
    ctx_ = nullptr;
}

std::string IscsiSession::login_failure_message(const std::string& error) const {
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
void IscsiSession::reconnect(const std::string& reason) {
    ++reconnects_;
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
    if (on_reconnect_) on_reconnect_();
    log_info(describe() + ": reconnected");
}

// Runs a batch with up to queue_depth commands in flight, reissuing those a
// lost connection took with it. Throws on the first command that fails.
void IscsiSession::run(std::vector<IscsiCommand>& commands, bool drain) {
    if (drain) {
        finish_reads();
        drain_writes();
    }
    Group group;
    for (auto& c : commands) {
        c.owner = this;
        group.add(&c);
    }
    drive(group, 0, false);
}

void IscsiSession::run_one(IscsiCommand command, bool drain) {
    std::vector<IscsiCommand> batch;
    batch.push_back(std::move(command));
    run(batch, drain);
}

// Issues the group's commands, up to queue_depth in flight, until at most
// until_remaining are unfinished (and, with send_all, all queued data has
// left for the socket). Commands a lost connection took with it are
// reissued after a reconnect. Throws on the first command that fails.
void IscsiSession::drive(Group& g, size_t until_remaining, bool send_all) {
    drive_until(g, [&] {
        return g.remaining <= until_remaining && !(send_all && ctx_ && iscsi_out_queue_length(ctx_) > 0);
    });
}

void IscsiSession::drive_until(Group& g, const std::function<bool()>& done) {
    completed_.clear();
    try {
        while (!done()) {
            if (!ctx_) reconnect("the previous operation failed");
            std::string lost_reason;
            while (g.flying.size() < queue_depth_ && !g.pending.empty()) {
                IscsiCommand* c = g.pending.front();
                c->task = c->start(ctx_, command_done, c);
                if (!c->task) {
                    lost_reason = std::string("cannot queue ") + c->what + ": " + iscsi_get_error(ctx_);
                    break;
                }
                g.pending.pop_front();
                c->in_flight = true;
                g.flying.push_back(c);
                max_in_flight_ = std::max(max_in_flight_, g.flying.size());
            }
            bool lost = !lost_reason.empty();
            if (!lost) wait_and_service(lost, lost_reason);

            std::vector<IscsiCommand*> done;
            done.swap(completed_);
            for (IscsiCommand* c : done) {
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
                    IscsiCommand* c = *it;
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
        // No callback may reach a IscsiCommand after its group is gone: drop a
        // connection that still carries some (the next call reconnects).
        if (!g.flying.empty()) disconnect(false);
        completed_.clear();
        for (IscsiCommand* c : g.flying) c->free_task();
        g.flying.clear();
        g.pending.clear();
        g.remaining = 0;
        throw;
    }
}

void IscsiSession::drain_writes() {
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
void IscsiSession::finish_writes() {
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
    for (IscsiCommand* c : writes_.flying) c->free_task();
    writes_ = Group{};
    behind_.clear();
}

void IscsiSession::write_behind(std::vector<IscsiCommand> commands) {
    finish_reads();  // groups never have commands in flight together
    // Commands in flight may complete in any order: a write over a range
    // still being written waits for that first.
    bool overlaps = std::any_of(commands.begin(), commands.end(), [&](const IscsiCommand& w) {
        return std::any_of(behind_.begin(), behind_.end(), [&](const IscsiCommand& c) {
            return !c.finished && c.lba < w.lba + w.blocks && w.lba < c.lba + c.blocks;
        });
    });
    if (overlaps) drain_writes();
    for (auto& c : commands) {
        behind_.push_back(std::move(c));
        behind_.back().owner = this;
        writes_.add(&behind_.back());
    }
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

void IscsiSession::queue_reads(std::vector<IscsiCommand> commands) {
    for (auto& c : commands) {
        ahead_.push_back(std::move(c));
        ahead_.back().owner = this;
        reads_.add(&ahead_.back());
    }
}

void IscsiSession::wait_reads(size_t count) {
    count = std::min(count, ahead_.size());
    try {
        drive_until(reads_, [&] {
            return std::all_of(ahead_.begin(), ahead_.begin() + static_cast<std::ptrdiff_t>(count),
                               [](const IscsiCommand& c) { return c.finished; });
        });
    } catch (...) {
        ahead_.clear();  // drive_until dropped the group
        throw;
    }
    for (size_t i = 0; i < count; ++i) ahead_.pop_front();
}

// Before any other command: the queued reads complete (they stay queued
// until wait_reads() collects them).
void IscsiSession::finish_reads() {
    if (reads_.remaining == 0) return;
    try {
        drive(reads_, 0, false);
    } catch (...) {
        ahead_.clear();
        throw;
    }
}

void IscsiSession::cancel_reads() {
    if (!reads_.flying.empty()) disconnect(false);  // no data-in may reach a buffer after this
    completed_.clear();
    for (IscsiCommand* c : reads_.flying) c->free_task();
    reads_ = Group{};
    ahead_.clear();
}

void IscsiSession::wait_and_service(bool& lost, std::string& reason) {
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
bool IscsiSession::handle_completion(IscsiCommand* c, std::deque<IscsiCommand*>& pending, std::string& lost_reason) {
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


}  // namespace hci
