#pragma once
// The CloudTower API client every hci-* tool uses: endpoint, credentials,
// retries, error bodies, pagination. One HTTP connection per run.
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "libcommon/api/api_options.h"
#include "libcommon/base/error.h"
#include "libcommon/api/http.h"
#include "libcommon/net/retry.h"

namespace hci {

namespace json = boost::json;

// An API call that failed; what() is the one stderr line.
class ApiError : public Error {
public:
    ApiError(ExitCode exit_code, const std::string& message, long status, std::string error_code)
        : Error(exit_code, message), status_(status), error_code_(std::move(error_code)) {}
    long status() const { return status_; }
    const std::string& error_code() const { return error_code_; }

private:
    long status_;
    std::string error_code_;
};

// "https://host" or "https://host/v2/api" (with or without a trailing
// slash) -> "https://host/v2/api". Plain http is accepted (the simulator).
std::string api_base_url(const std::string& endpoint);

// One line for an HTTP error: "get-vms: HTTP 500: <message> (path /v2/api/get-vms,
// code ResourceLocked, request id ...)". Falls back to a body excerpt when the
// body is not an ErrorBody.
std::string format_api_error(const std::string& op, long status, const std::string& body,
                             const std::string& request_id = "");

// ErrorBody.code when the body is one, else "".
std::string error_code_of(const std::string& body);

class CloudTower {
public:
    explicit CloudTower(const ApiOptions& options, const EnvLookup& env = process_env());
    ~CloudTower();

    // POSTs body to /v2/api/<op> and returns the parsed response, retrying
    // as the policy for `kind` allows. Throws ApiError.
    json::value call(const std::string& op, const json::value& body, CallKind kind);
    json::value query(const std::string& op, const json::value& body) { return call(op, body, CallKind::kQuery); }
    json::value mutate(const std::string& op, const json::value& body) { return call(op, body, CallKind::kMutation); }
    // A delete-* call: retried like a query. A retry may find some objects
    // gone already (an earlier attempt deleted them): callers count those as done.
    json::value remove(const std::string& op, const json::value& body) { return call(op, body, CallKind::kDelete); }

    // Every object matching `where`, page after page (first + after cursor,
    // orderBy id_ASC), handed to on_page as each page arrives.
    void query_pages(const std::string& op, const json::value& where,
                     const std::function<void(json::array&)>& on_page);
    // The same, collected.
    json::array query_all(const std::string& op, const json::value& where);

    const ApiOptions& options() const { return options_; }

    // Calls made while a deadline is set end by it, retries included: each
    // attempt's time limit shrinks to what is left, and no retry starts
    // after it. (Waiting for tasks: --timeout bounds the whole wait.)
    void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) { deadline_ = deadline; }

private:
    void ensure_token();
    json::value call_once_with_retries(const std::string& op, const std::string& body, CallKind kind,
                                       bool authorized);
    void dump_request(const std::string& op, const std::string& body);

    ApiOptions options_;
    EnvLookup env_;
    std::string base_;
    std::unique_ptr<HttpClient> http_;
    std::string token_;
    bool have_token_ = false;
    RetryPolicy policy_;
    std::mt19937_64 rng_;
    static constexpr int kPageSize = 500;  // objects per get-* page
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    int dump_seq_ = 0;
};

}  // namespace hci
