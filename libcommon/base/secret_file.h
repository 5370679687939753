#pragma once
// Secrets kept in files (the CloudTower token, the iSCSI CHAP secret): read
// the same way everywhere, and never echoed.
#include <string>

namespace hci {

// The first line of the file, without surrounding blanks. A missing,
// unreadable or blank file is a usage error naming `what` and the path, never
// the content; a file everyone may read earns a warning.
std::string read_secret_file(const std::string& path, const std::string& what);

}  // namespace hci
