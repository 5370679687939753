// libFuzzer target: the JSON-lines reader every hci-* tool reads stdin with.
// Any input must end in good lines and counted bad ones, never a crash, and
// every good line must be a JSON object.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "libcommon/base/error.h"
#include "libcommon/base/json_lines.h"

// Bad lines are reported on stderr: run.sh passes -close_fd_mask=2.

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = ::memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
    ::lseek(fd, 0, SEEK_SET);
    try {
        hci::LineReader reader(fd);
        size_t good = 0;
        while (auto line = reader.next()) {
            if (line->number == 0 || line->number > size + 1) std::abort();
            ++good;
        }
        if (good + reader.error_count() > size + 1) std::abort();
    } catch (const hci::Error&) {
        // fail-fast is off: only an unreadable input may throw, and memfd is readable
        std::abort();
    }
    ::close(fd);
    return 0;
}
