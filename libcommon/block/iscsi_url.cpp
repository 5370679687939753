#include "libcommon/block/iscsi_url.h"

#include <cctype>

#include "libcommon/base/error.h"

namespace hci {
namespace {

constexpr const char* kScheme = "iscsi://";
constexpr const char* kSyntax = "iscsi://[user@]host[:port]/<target iqn>/<lun>";

[[noreturn]] void bad_url(const std::string& why) {
    fail(kExitUsage, "bad iSCSI URL: " + why + " (expected " + kSyntax + ")");
}

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

unsigned long parse_number(const std::string& s, unsigned long max, const char* what) {
    if (!all_digits(s) || s.size() > 9) bad_url(std::string(what) + " '" + s + "' is not a number");
    unsigned long v = std::stoul(s);
    if (v > max) bad_url(std::string(what) + " " + s + " is out of range");
    return v;
}

// Splits "host[:port]" or "[v6]:port" into its parts.
void parse_host_port(const std::string& hp, IscsiUrl& url) {
    std::string port;
    if (!hp.empty() && hp[0] == '[') {
        auto close = hp.find(']');
        if (close == std::string::npos) bad_url("unterminated '[' in host");
        url.host = hp.substr(1, close - 1);
        std::string rest = hp.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') bad_url("junk after ']' in host");
            port = rest.substr(1);
            if (port.empty()) bad_url("empty port");
        }
    } else {
        auto colon = hp.find(':');
        url.host = hp.substr(0, colon);
        if (colon != std::string::npos) {
            port = hp.substr(colon + 1);
            if (port.empty()) bad_url("empty port");
        }
    }
    if (url.host.empty()) bad_url("no host");
    if (!port.empty()) {
        url.port = static_cast<uint16_t>(parse_number(port, 65535, "port"));
        if (url.port == 0) bad_url("port 0");
    }
}

}  // namespace

std::string IscsiUrl::portal() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string IscsiUrl::str() const {
    return std::string(kScheme) + (user.empty() ? "" : user + "@") + portal() + "/" + target + "/" +
           std::to_string(lun);
}

IscsiUrl parse_iscsi_url(const std::string& text) {
    std::string scheme(kScheme);
    if (text.compare(0, scheme.size(), scheme) != 0) bad_url("does not start with iscsi://");
    std::string rest = text.substr(scheme.size());
    if (rest.find_first_of("?#") != std::string::npos) bad_url("query strings and fragments are not supported");

    auto slash = rest.find('/');
    if (slash == std::string::npos) bad_url("no target IQN");
    std::string authority = rest.substr(0, slash);
    std::string path = rest.substr(slash + 1);

    IscsiUrl url;
    auto at = authority.rfind('@');
    if (at != std::string::npos) {
        std::string userinfo = authority.substr(0, at);
        // Never echo userinfo back: it may hold a password.
        if (userinfo.find_first_of("%:") != std::string::npos)
            fail(kExitUsage,
                 "bad iSCSI URL: it must not contain a CHAP secret; give only the user "
                 "(iscsi://user@host/...) and the secret with --chap-secret-file or ZADP_CHAP_SECRET");
        if (userinfo.empty()) bad_url("empty user before '@'");
        url.user = userinfo;
        authority = authority.substr(at + 1);
    }
    parse_host_port(authority, url);

    auto last = path.rfind('/');
    if (last == std::string::npos) bad_url("no LUN number after the target IQN");
    url.target = path.substr(0, last);
    std::string lun = path.substr(last + 1);
    if (url.target.empty()) bad_url("empty target IQN");
    if (url.target.find('/') != std::string::npos) bad_url("target IQN contains '/'");
    if (lun.empty()) bad_url("no LUN number after the target IQN");
    // SAM flat addressing allows up to 16383; libiscsi takes an int.
    url.lun = static_cast<int>(parse_number(lun, 16383, "LUN"));
    return url;
}

std::string redact_url(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    auto authority = scheme + 3;
    auto path = url.find('/', authority);
    auto at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
    if (at == std::string::npos || at < authority) return url;
    std::string userinfo = url.substr(authority, at - authority);
    auto sep = userinfo.find_first_of(":%");
    // iSCSI URLs write user%password; others user:password.
    if (sep == std::string::npos) return url;
    return url.substr(0, authority) + userinfo.substr(0, sep) + url.substr(at);
}

}  // namespace hci
