#pragma once
// A file descriptor that reads given bytes, as a tool's stdin would.
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace hci::test {

inline int memory_fd(const std::string& bytes) {
    int fd = ::memfd_create("test-input", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

}  // namespace hci::test
