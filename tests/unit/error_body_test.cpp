#include <catch2/catch.hpp>

#include "libcommon/api/cloudtower.h"

TEST_CASE("an ErrorBody becomes one line with message, path and code") {
    std::string body = R"({"message":"vm is locked","status":400,"path":"/v2/api/create-vm-snapshot","code":"ResourceLocked"})";
    std::string line = hci::format_api_error("create-vm-snapshot", 400, body);
    CHECK(line == "create-vm-snapshot: HTTP 400: vm is locked (path /v2/api/create-vm-snapshot, code ResourceLocked)");
    CHECK(hci::error_code_of(body) == "ResourceLocked");
}

TEST_CASE("props and the request id are included when present") {
    std::string body = R"({"message":"bad where","status":400,"path":"/v2/api/get-vms","props":{"field":"name_in"}})";
    std::string line = hci::format_api_error("get-vms", 400, body, "req-7");
    CHECK(line == "get-vms: HTTP 400: bad where (path /v2/api/get-vms, props {\"field\":\"name_in\"}, request id req-7)");
}

TEST_CASE("a body that is not an ErrorBody is quoted briefly on one line") {
    std::string line = hci::format_api_error("get-vms", 502, "<html>\nBad Gateway\n</html>");
    CHECK(line == "get-vms: HTTP 502: <html> Bad Gateway </html>");
    CHECK(hci::format_api_error("get-vms", 500, "") == "get-vms: HTTP 500: (empty response)");
    CHECK(hci::error_code_of("not json").empty());
    std::string long_body(1000, 'x');
    CHECK(hci::format_api_error("get-vms", 500, long_body).size() < 260);
}

TEST_CASE("endpoint forms all lead to the /v2/api base") {
    CHECK(hci::api_base_url("https://tower.example.com") == "https://tower.example.com/v2/api");
    CHECK(hci::api_base_url("https://tower.example.com/") == "https://tower.example.com/v2/api");
    CHECK(hci::api_base_url("https://tower.example.com/v2/api") == "https://tower.example.com/v2/api");
    CHECK(hci::api_base_url("https://tower.example.com/v2/api/") == "https://tower.example.com/v2/api");
    CHECK(hci::api_base_url("http://127.0.0.1:4000") == "http://127.0.0.1:4000/v2/api");
    CHECK_THROWS_AS(hci::api_base_url(""), hci::Error);
    CHECK_THROWS_AS(hci::api_base_url("tower.example.com"), hci::Error);
}
