//! Shared HTTP download: timeouts, retries with backoff, atomic writes (placeholder: being written).
