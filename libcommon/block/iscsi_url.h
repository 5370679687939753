#pragma once
// The iscsi:// URL of a LUN and the initiator name we log in with.
#include <cstdint>
#include <string>

#include "libcommon/base/initiator_iqn.h"  // default_initiator_iqn(), the name we log in with

namespace hci {

// iscsi://[user@]host[:port]/<target iqn>/<lun>
// The CHAP secret is never part of the URL (it would end up in argv, shell
// history and logs); it comes from VolumeOptions::chap_secret.
struct IscsiUrl {
    std::string user;    // CHAP user, empty: no CHAP
    std::string host;    // name, IPv4, or IPv6 without brackets
    uint16_t port = 3260;
    std::string target;  // target IQN
    int lun = 0;

    // "host:port", or "[v6]:port", the form libiscsi wants for a portal.
    std::string portal() const;
    // The URL again (it never holds a secret, so it is safe for messages).
    std::string str() const;
};

// Throws hci::Error(kExitUsage) with a message that never repeats a password
// somebody put into the URL by mistake.
IscsiUrl parse_iscsi_url(const std::string& url);

// "iscsi://user%secret@host/..." -> "iscsi://user@host/...": URLs in stream
// headers and messages never carry a password (user:password elsewhere).
std::string redact_url(const std::string& url);

}  // namespace hci
