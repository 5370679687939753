#include "libcommon/base/secret_file.h"

#include <sys/stat.h>

#include <boost/algorithm/string/trim.hpp>
#include <cerrno>
#include <fstream>

#include "libcommon/base/error.h"
#include "libcommon/base/log.h"

namespace hci {

std::string read_secret_file(const std::string& path, const std::string& what) {
    std::ifstream in(path);
    if (!in) fail(kExitUsage, "cannot read " + what + " " + path + ": " + errno_text(errno));
    std::string secret;
    std::getline(in, secret);
    boost::algorithm::trim(secret);
    if (secret.empty()) fail(kExitUsage, what + " " + path + " is empty");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        log_warning(what + " " + path + " is readable by everyone; consider chmod 600");
    return secret;
}

}  // namespace hci
