#pragma once
// When to retry a call (CloudTower, S3), and how long to wait first. Pure functions,
// so the policy is unit-tested without a server.
#include <string>

namespace hci {

// Whether repeating a call can duplicate its effect.
enum class CallKind {
    kQuery,     // get-*: always safe to repeat
    kDelete,    // delete-*: idempotent (what is gone stays gone): retried like a query
    kMutation,  // create/clone: repeat only when it surely did not run
};

// What happened to one attempt.
struct AttemptOutcome {
    enum Kind {
        kNotSent,        // connection refused / DNS failure: the request never left
        kTransportError, // failed after (maybe) sending: timeout, reset, dropped connection
        kHttp,           // the server answered with `status`
    } kind = kHttp;
    int status = 0;          // HTTP status for kHttp
    std::string error_code;  // ErrorBody.code, e.g. "ResourceLocked"
};

struct RetryPolicy {
    int max_attempts = 5;        // including the first
    long max_total_ms = 60000;   // give up when the next wait would pass this
    long base_delay_ms = 200;    // first wait, doubled each time
    long max_delay_ms = 5000;    // cap for one wait
};

// True when the outcome is worth another attempt for this kind of call.
// Queries and deletions: connection errors, 5xx, 429 and 400 ResourceLocked
// are retried.
// Mutations: only outcomes that mean "not executed": not sent, 503, 429 and
// ResourceLocked. A 500 or a timeout after sending may have done the work.
bool is_retryable(const AttemptOutcome& outcome, CallKind kind);

// The wait before attempt number `attempt` (1 = the first retry): exponential
// backoff capped at max_delay_ms, with "full jitter" in [delay/2, delay]
// taken from jitter01 in [0, 1).
long backoff_delay_ms(const RetryPolicy& policy, int attempt, double jitter01);

// True when another attempt is allowed: attempts made so far and time spent.
bool may_retry(const RetryPolicy& policy, int attempts_made, long elapsed_ms, long next_delay_ms);

}  // namespace hci
