"""Prometheus metrics (served at `/metrics`). Names are stable; labels are low-cardinality."""

from prometheus_client import Counter, Gauge, Histogram

WS_CONNECTIONS = Gauge("im_ws_connections", "Open WebSocket connections on this instance")
WS_CLOSED_SLOW = Counter("im_ws_slow_consumer_closed_total", "Connections closed with 4008")
MESSAGES_SENT = Counter("im_messages_sent_total", "Messages stored", ["msg_type"])
FANOUT_DELIVERIES = Counter("im_fanout_deliveries_total", "Events queued on local sockets")
FANOUT_RECEIVED = Counter(
    "im_fanout_envelopes_received_total",
    "Envelopes this instance heard from the broker (routed: only for its own users' groups)",
)
FANOUT_LATENCY = Histogram(
    "im_fanout_latency_seconds",
    "From event publish to local socket queue",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
WRITER_TRANSACTIONS = Counter(
    "im_writer_transactions_total",
    "Write transactions of the message writer (each stores a batch of appends and changes)",
)
BROKER_PUBLISH_BATCHES = Counter(
    "im_broker_publish_batches_total", "Round trips handing queued envelopes to the broker"
)
BROKER_PUBLISHED = Counter("im_broker_envelopes_published_total", "Envelopes handed to the broker")
BROKER_PUBLISH_ERRORS = Counter("im_broker_publish_errors_total", "Events the broker refused")
FANOUT_DROPPED = Counter(
    "im_fanout_dropped_total", "Events not pushed because the outgoing fan-out queue was full"
)
STORE_ERRORS = Counter(
    "im_store_errors_total",
    "Failures of a Redis-backed store (the store fell back to a safe answer)",
    ["store"],
)
TYPING_THROTTLED = Counter("im_typing_throttled_total", "Typing events not forwarded (throttle)")
WS_REFUSED = Counter("im_ws_refused_total", "WebSocket connections refused, by reason", ["reason"])
AI_CALLS = Counter("im_ai_calls_total", "AI requests finished, by final status", ["status"])
AI_DISPATCH_DEFERRED = Counter(
    "im_ai_dispatch_deferred_total",
    "AI records left for the sweeper because the in-process AI queue was full",
)
AI_CLAIMS_LOST = Counter(
    "im_ai_claims_lost_total", "AI results discarded because another worker took the record"
)
AI_LATENCY = Histogram(
    "im_ai_call_seconds",
    "Duration of one AI request, retries included",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
HTTP_LATENCY = Histogram(
    "im_http_request_seconds",
    "HTTP request duration by route",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RATE_LIMITED = Counter("im_rate_limited_total", "Sends refused by the rate limit")
AI_COPILOT_TASKS = Counter(
    "im_ai_copilot_total",
    "Copilot tasks (SPEC §15) finished, by kind and status",
    ["kind", "status"],
)
ATTACHMENT_UPLOADS = Counter("im_attachment_uploads_total", "Attachments stored, by kind", ["kind"])
ATTACHMENT_UPLOAD_BYTES = Counter(
    "im_attachment_upload_bytes_total", "Bytes of attachments stored (after re-encoding)"
)
ATTACHMENT_REFUSED = Counter(
    "im_attachment_refused_total", "Uploads refused, by reason", ["reason"]
)
ATTACHMENT_ORPHANS_REMOVED = Counter(
    "im_attachment_orphans_removed_total", "Uploads never sent, removed by the clean-up"
)
WEBHOOK_DELIVERIES = Counter(
    "im_webhook_deliveries_total",
    "Webhook attempts settled, by outcome: delivered, retry (scheduled again), failed (for good)",
    ["status"],
)
WEBHOOK_LAG = Histogram(
    "im_webhook_delivery_lag_seconds",
    "From the commit of a change to its webhook's acceptance by the receiver",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 60, 300, 3600),
)
PUSH_SENT = Counter("im_push_sent_total", "Web Push notifications, by outcome", ["status"])
