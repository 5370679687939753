#include <catch2/catch.hpp>

#include "libcommon/api/retry.h"

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

TEST_CASE("queries are retried on connection errors, 5xx, 429 and ResourceLocked") {
    CHECK(is_retryable(transport(AttemptOutcome::kNotSent), CallKind::kQuery));
    CHECK(is_retryable(transport(AttemptOutcome::kTransportError), CallKind::kQuery));
    CHECK(is_retryable(http(500), CallKind::kQuery));
    CHECK(is_retryable(http(502), CallKind::kQuery));
    CHECK(is_retryable(http(503), CallKind::kQuery));
    CHECK(is_retryable(http(429), CallKind::kQuery));
    CHECK(is_retryable(http(400, "ResourceLocked"), CallKind::kQuery));
}

TEST_CASE("client errors are never retried") {
    for (auto kind : {CallKind::kQuery, CallKind::kDelete, CallKind::kMutation}) {
        CHECK_FALSE(is_retryable(http(400), kind));
        CHECK_FALSE(is_retryable(http(400, "VmNotFound"), kind));
        CHECK_FALSE(is_retryable(http(401), kind));
        CHECK_FALSE(is_retryable(http(404), kind));
    }
}

TEST_CASE("mutations are retried only when the server surely did not act") {
    CHECK(is_retryable(transport(AttemptOutcome::kNotSent), CallKind::kMutation));
    CHECK(is_retryable(http(503), CallKind::kMutation));
    CHECK(is_retryable(http(429), CallKind::kMutation));
    CHECK(is_retryable(http(400, "ResourceLocked"), CallKind::kMutation));
    // A timeout or a dropped connection after sending a create may have created it.
    CHECK_FALSE(is_retryable(transport(AttemptOutcome::kTransportError), CallKind::kMutation));
    CHECK_FALSE(is_retryable(http(500), CallKind::kMutation));
    CHECK_FALSE(is_retryable(http(502), CallKind::kMutation));
}

TEST_CASE("deletions are idempotent: retried like queries, also after a 500 or a dropped connection") {
    CHECK(is_retryable(transport(AttemptOutcome::kNotSent), CallKind::kDelete));
    CHECK(is_retryable(transport(AttemptOutcome::kTransportError), CallKind::kDelete));
    CHECK(is_retryable(http(500), CallKind::kDelete));
    CHECK(is_retryable(http(502), CallKind::kDelete));
    CHECK(is_retryable(http(503), CallKind::kDelete));
    CHECK(is_retryable(http(400, "ResourceLocked"), CallKind::kDelete));
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
