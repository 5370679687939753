#include "libsim/tgtd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "libcommon/base/cli.h"

namespace sim {
namespace {

std::string find_program(const std::string& name) {
    std::string path = hci::process_env()("PATH").value_or("");
    path += ":/usr/sbin:/sbin:/usr/local/sbin";
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        std::string p = dir + "/" + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
}

// A loopback TCP port that is free right now.
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

bool port_listening(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// tgtd leaves its control socket and lock file behind when it exits.
void remove_control_socket(int control) {
    std::string socket = "/run/tgtd/socket." + std::to_string(control);
    ::unlink(socket.c_str());
    ::unlink((socket + ".lock").c_str());
}

}  // namespace

std::vector<std::string> split_whitelist(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s + ",") {
        if (c == ',' || c == ' ' || c == '\n' || c == ';') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    return out;
}

std::pair<int, std::string> run_program(const std::vector<std::string>& argv) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(pipefd[1], 1);
        ::dup2(pipefd[1], 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        _exit(127);
    }
    ::close(pipefd[1]);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(pipefd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipefd[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return {rc, out};
}

std::string Tgtd::unavailable() {
    if (::geteuid() != 0) return "not running as root, so no tgtd";
    if (find_program("tgtd").empty() || find_program("tgtadm").empty())
        return "tgtd/tgtadm not installed (Debian package tgt)";
    return "";
}

std::string Tgtd::start() {
    if (std::string why = unavailable(); !why.empty()) return why;
    std::string tgtd = find_program("tgtd");
    // tgtd's control socket is per port number; pick one from a pid-based
    // range and move on when another tgtd already answers there.
    for (int attempt = 0; attempt < 20; ++attempt) {
        int control = 1000 + (static_cast<int>(::getpid()) * 13 + attempt * 977) % 31000;  // tgtd takes up to 32767
        if (run_program({"tgtadm", "-C", std::to_string(control), "--op", "show", "--mode", "sys"}).first == 0)
            continue;
        int port = free_port();
        pid_t pid = ::fork();
        if (pid < 0) return "fork failed: " + std::string(std::strerror(errno));
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the simulator
            int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            int devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, 0);
            if (log >= 0) {
                ::dup2(log, 1);
                ::dup2(log, 2);
            }
            std::string c = std::to_string(control), portal = "portal=127.0.0.1:" + std::to_string(port);
            ::execl(tgtd.c_str(), "tgtd", "-f", "-C", c.c_str(), "--iscsi", portal.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        pid_ = pid;
        control_ = control;
        port_ = port;
        for (int i = 0; i < 100; ++i) {
            int status;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid_ = -1;
                break;
            }
            if (run_program({"tgtadm", "-C", std::to_string(control), "--op", "show", "--mode", "sys"}).first == 0 &&
                port_listening(port))
                return "";
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    return "could not start tgtd (see " + log_path_ + ")";
}

void Tgtd::tgtadm(std::vector<std::string> args, bool must_succeed) {
    args.insert(args.begin(), {"tgtadm", "-C", std::to_string(control_), "--lld", "iscsi"});
    auto [rc, out] = run_program(args);
    if (rc != 0 && must_succeed) {
        // Never echo a CHAP secret: describe the call by its mode and op only.
        std::string what;
        for (std::size_t i = 0; i + 1 < args.size(); ++i)
            if (args[i] == "--op" || args[i] == "--mode") what += " " + args[i] + " " + args[i + 1];
        throw std::runtime_error("tgtadm" + what + " failed: " + out);
    }
}

int Tgtd::tid_of(const std::string& iqn) const {
    auto it = tids_.find(iqn);
    if (it == tids_.end()) throw std::runtime_error("tgtd has no target " + iqn);
    return it->second;
}

void Tgtd::add_target(const std::string& iqn, const std::string& iqn_whitelist, const std::vector<ChapAccount>& chap) {
    int tid = next_tid_++;
    std::string t = std::to_string(tid);
    tgtadm({"--op", "new", "--mode", "target", "--tid", t, "-T", iqn});
    tids_[iqn] = tid;
    set_initiators(iqn, split_whitelist(iqn_whitelist));
    for (const auto& a : chap) {
        // The secret has to be in tgtadm's argv: a simulator-only exception
        // (a child of ours, on loopback, in a test), documented in hci-sim(1).
        tgtadm({"--op", "new", "--mode", "account", "--user", a.user, "--password", a.secret}, false);
        tgtadm({"--op", "bind", "--mode", "account", "--tid", t, "--user", a.user});
    }
}

void Tgtd::set_initiators(const std::string& iqn, const std::vector<std::string>& initiators) {
    std::string t = std::to_string(tid_of(iqn));
    auto acl_args = [](const std::string& initiator) -> std::vector<std::string> {
        if (initiator == "*" || initiator == "*/*") return {"-I", "ALL"};
        return {"-Q", initiator};
    };
    std::vector<std::string>& bound = bound_[iqn];
    for (const auto& old : bound) {
        if (std::find(initiators.begin(), initiators.end(), old) != initiators.end()) continue;
        std::vector<std::string> args{"--op", "unbind", "--mode", "target", "--tid", t};
        for (auto& a : acl_args(old)) args.push_back(a);
        tgtadm(args);
    }
    for (const auto& now : initiators) {
        if (std::find(bound.begin(), bound.end(), now) != bound.end()) continue;
        std::vector<std::string> args{"--op", "bind", "--mode", "target", "--tid", t};
        for (auto& a : acl_args(now)) args.push_back(a);
        tgtadm(args);
    }
    bound = initiators;
}

void Tgtd::add_lun(const std::string& iqn, long lun, const std::string& backing_file) {
    std::string t = std::to_string(tid_of(iqn)), l = std::to_string(lun);
    if (luns_.contains({iqn, lun})) remove_lun(iqn, lun);  // left by a removal that failed (busy)
    tgtadm({"--op", "new", "--mode", "logicalunit", "--tid", t, "--lun", l, "--backing-store", backing_file});
    luns_.insert({iqn, lun});
    tgtadm({"--op", "update", "--mode", "logicalunit", "--tid", t, "--lun", l, "--params", "thin_provisioning=1"});
}

void Tgtd::remove_lun(const std::string& iqn, long lun) {
    // Deleting a LUN an initiator still uses can fail; the API deletes it
    // anyway (as the state says), so this only leaves a note.
    try {
        tgtadm({"--op", "delete", "--mode", "logicalunit", "--tid", std::to_string(tid_of(iqn)), "--lun",
                std::to_string(lun)});
        luns_.erase({iqn, lun});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hci-sim: warning: %s\n", e.what());
    }
}

int Tgtd::drop_sessions(const std::string& iqn) {
    const std::string tid = std::to_string(tid_of(iqn));
    auto [rc, out] = run_program({"tgtadm", "-C", std::to_string(control_), "--lld", "iscsi", "--op", "show", "--mode",
                                  "conn", "--tid", tid});
    if (rc != 0) throw std::runtime_error("tgtadm --op show --mode conn failed: " + out);
    std::istringstream in(out);
    std::string word, sid, cid;
    int dropped = 0;
    while (in >> word) {
        if (word == "Session:") in >> sid;
        if (word == "Connection:" && in >> cid) {
            tgtadm({"--op", "delete", "--mode", "conn", "--tid", tid, "--sid", sid, "--cid", cid});
            ++dropped;
        }
    }
    return dropped;
}

void Tgtd::kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    killed_ = true;
    remove_control_socket(control_);
}

void Tgtd::stop() {
    if (pid_ <= 0) return;
    tgtadm({"--op", "update", "--mode", "sys", "--name", "State", "-v", "offline"}, false);
    // tgtd refuses to delete a system that still has targets.
    for (const auto& [iqn, tid] : tids_)
        tgtadm({"--op", "delete", "--mode", "target", "--tid", std::to_string(tid), "--force"}, false);
    tids_.clear();
    bound_.clear();
    luns_.clear();
    run_program({"tgtadm", "-C", std::to_string(control_), "--op", "delete", "--mode", "system"});
    bool exited = false;
    for (int i = 0; i < 100 && !exited; ++i) {
        exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
        if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!exited) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
    remove_control_socket(control_);
}

}  // namespace sim
