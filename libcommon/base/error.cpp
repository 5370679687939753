#include "libcommon/base/error.h"

#include <cstring>

namespace hci {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace hci
