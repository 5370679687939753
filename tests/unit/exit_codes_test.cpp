#include <catch2/catch.hpp>
#include <set>

#include "libcommon/base/error.h"

TEST_CASE("exit codes are distinct") {
    std::set<int> codes{hci::kExitOk, hci::kExitPartial, hci::kExitUsage, hci::kExitApi,
                        hci::kExitNotFound, hci::kExitTaskFailed, hci::kExitIntegrity, hci::kExitIo};
    REQUIRE(codes.size() == 8);
    hci::Error e(hci::kExitNotFound, "no VM named web01");
    REQUIRE(e.code() == hci::kExitNotFound);
    REQUIRE(std::string(e.what()) == "no VM named web01");
}
