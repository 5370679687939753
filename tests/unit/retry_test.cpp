#include <catch2/catch.hpp>

#include "libcommon/net/retry.h"

using hci::AttemptOutcome;
using hci::CallKind;

static AttemptOutcome http(int status, std::string code = "") {
    AttemptOutcome o;
    o.kind = AttemptOutcome::kHttp;
    o.status = status;
    o.error_code = std::move(code);
    return o;
}

static AttemptOutcome transport(AttemptOutcome::Kind kind) {
    AttemptOutcome o;
    o.kind = kind;
    return o;
}

// Which failures are retried, by kind of call. Queries: connection errors,
// 5xx, 429 and ResourceLocked. Mutations only when the server surely did not
// act: a timeout or a dropped connection after sending a create may have
// created it. Deletions are idempotent: retried like queries. Client errors
// never.
TEST_CASE("which failures are retried, by kind of call") {
    struct Row {
        const char* what;
        AttemptOutcome outcome;
        bool query, mutation, deletion;
    };
    const Row rows[] = {
        {"not sent", transport(AttemptOutcome::kNotSent), true, true, true},
        {"transport error", transport(AttemptOutcome::kTransportError), true, false, true},
        {"500", http(500), true, false, true},
        {"502", http(502), true, false, true},
        {"503", http(503), true, true, true},
        {"429", http(429), true, true, true},
        {"400 ResourceLocked", http(400, "ResourceLocked"), true, true, true},
        {"400", http(400), false, false, false},
        {"400 VmNotFound", http(400, "VmNotFound"), false, false, false},
        {"401", http(401), false, false, false},
        {"404", http(404), false, false, false},
    };
    for (const auto& row : rows) {
        INFO(row.what);
        CHECK(is_retryable(row.outcome, CallKind::kQuery) == row.query);
        CHECK(is_retryable(row.outcome, CallKind::kMutation) == row.mutation);
        CHECK(is_retryable(row.outcome, CallKind::kDelete) == row.deletion);
    }
}

TEST_CASE("backoff doubles, is capped, and jitters within [delay/2, delay]") {
    hci::RetryPolicy p;
    p.base_delay_ms = 100;
    p.max_delay_ms = 1000;
    CHECK(backoff_delay_ms(p, 1, 1.0) == 100);
    CHECK(backoff_delay_ms(p, 2, 1.0) == 200);
    CHECK(backoff_delay_ms(p, 3, 1.0) == 400);
    CHECK(backoff_delay_ms(p, 4, 1.0) == 800);
    CHECK(backoff_delay_ms(p, 5, 1.0) == 1000);
    CHECK(backoff_delay_ms(p, 50, 1.0) == 1000);
    CHECK(backoff_delay_ms(p, 1, 0.0) == 50);
    CHECK(backoff_delay_ms(p, 5, 0.0) == 500);
    for (double j : {0.1, 0.5, 0.9}) {
        long d = backoff_delay_ms(p, 3, j);
        CHECK(d >= 200);
        CHECK(d <= 400);
    }
}

TEST_CASE("retries are bounded by attempts and by total time") {
    hci::RetryPolicy p;
    p.max_attempts = 3;
    p.max_total_ms = 1000;
    CHECK(may_retry(p, 1, 0, 100));
    CHECK(may_retry(p, 2, 500, 400));
    CHECK_FALSE(may_retry(p, 3, 0, 100));     // attempts used up
    CHECK_FALSE(may_retry(p, 1, 900, 200));   // would pass the time budget
}
