#include "libcommon/net/retry.h"

#include <algorithm>

namespace hci {

bool is_retryable(const AttemptOutcome& outcome, CallKind kind) {
    const bool repeatable = kind != CallKind::kMutation;
    switch (outcome.kind) {
        case AttemptOutcome::kNotSent:
            return true;
        case AttemptOutcome::kTransportError:
            return repeatable;
        case AttemptOutcome::kHttp:
            break;
    }
    const int s = outcome.status;
    if (s == 503 || s == 429) return true;  // "not now": the server did not act
    if (s == 400 && outcome.error_code == "ResourceLocked") return true;
    if (s >= 500 && s <= 599) return repeatable;
    return false;
}

long backoff_delay_ms(const RetryPolicy& policy, int attempt, double jitter01) {
    long delay = policy.base_delay_ms;
    for (int i = 1; i < attempt && delay < policy.max_delay_ms; ++i) delay *= 2;
    delay = std::min(delay, policy.max_delay_ms);
    jitter01 = std::clamp(jitter01, 0.0, 1.0);
    return delay / 2 + static_cast<long>(static_cast<double>(delay - delay / 2) * jitter01);
}

bool may_retry(const RetryPolicy& policy, int attempts_made, long elapsed_ms, long next_delay_ms) {
    return attempts_made < policy.max_attempts && elapsed_ms + next_delay_ms <= policy.max_total_ms;
}

}  // namespace hci
