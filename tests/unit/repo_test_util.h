#pragma once
// What the repository's unit tests share: a temporary directory and the
// exit code a call fails with.
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <string>

#include "libcommon/base/error.h"

namespace hci::repo_test {

// A new directory under /tmp, removed with everything in it.
struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/repo-unit.XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// The exit code of the hci::Error `f` throws, 0 when it returns.
inline int exit_code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

}  // namespace hci::repo_test
