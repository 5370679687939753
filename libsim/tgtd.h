#pragma once
// A private tgtd (Debian package tgt) that the simulator starts, drives with
// tgtadm on its own control port, and stops: the data plane of hci-sim.
#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sim {

struct ChapAccount {
    std::string user;
    std::string secret;
};

class Tgtd {
public:
    explicit Tgtd(std::string log_path) : log_path_(std::move(log_path)) {}
    ~Tgtd() { stop(); }
    // Why no tgtd can run here (not root, tgt not installed), or "".
    static std::string unavailable();
    // Starts tgtd on a free control port and a free loopback portal. Returns
    // an empty string on success, else why the data plane is off.
    std::string start();
    bool running() const { return pid_ > 0; }
    std::string portal() const { return running() || killed_ ? "127.0.0.1:" + std::to_string(port_) : ""; }
    int control_port() const { return control_; }
    pid_t pid() const { return pid_; }

    // Creates a target bound to the whitelisted initiators ("*" = all) and,
    // when chap is non-empty, to those incoming CHAP accounts.
    void add_target(const std::string& iqn, const std::string& iqn_whitelist, const std::vector<ChapAccount>& chap);
    // Binds exactly these initiators ("*" = all) to the target, unbinding the others.
    void set_initiators(const std::string& iqn, const std::vector<std::string>& initiators);
    void add_lun(const std::string& iqn, long lun, const std::string& backing_file);
    void remove_lun(const std::string& iqn, long lun);
    // Drops every connection to the target (tgtd stays up); returns how many.
    int drop_sessions(const std::string& iqn);
    void kill_now();  // SIGKILL, for tests of a vanishing data plane
    void stop();      // offline, delete the system, reap

private:
    int tid_of(const std::string& iqn) const;
    void tgtadm(std::vector<std::string> args, bool must_succeed = true);

    std::string log_path_;
    pid_t pid_ = -1;
    int control_ = 0;
    int port_ = 0;
    bool killed_ = false;
    int next_tid_ = 1;
    int next_account_ = 1;
    std::map<std::string, int> tids_;
    std::map<std::string, std::vector<std::string>> bound_;  // iqn -> initiators bound now
    std::set<std::pair<std::string, long>> luns_;            // (iqn, lun) tgtd has now
};

// Splits a whitelist ("a,b c;d") into its entries.
std::vector<std::string> split_whitelist(const std::string& s);

// Runs a program (no shell), waits, returns its exit status and output.
std::pair<int, std::string> run_program(const std::vector<std::string>& argv);

}  // namespace sim
