"""Alerts in the pipeline: ``AssignStories``, ``RaiseAlerts``, and the delivery worker.

The state that makes an alert "new" lives in Elasticsearch, never in a worker's
memory: an alert's ``_id`` is hash(rule, story) and it is written with
op_type=create, so a second copy of a story, a replay or a second worker gets
409 and raises nothing. A created alert is then published to the alerts topic
and marked ``queued``; an alert found unqueued (a crash between the two) is
published again. Delivery to webhooks and the console is a separate worker with
one consumer group per sink, committing only after the sink accepted (or the
alert was dead-lettered), so a sink that is down delays only itself and loses
nothing.

- ``store``: the watchlist file and the alert store (dedup in ES, queue in Kafka);
- ``stories``: the Beam transform that assigns each document its story;
- ``raising``: the Beam transform that raises alerts;
- ``delivery``: the per-sink delivery worker and ``alerts tail``;
- ``backfill``: a rule run over what is already indexed;
- ``retrying``: Elasticsearch calls retried until it answers.
"""

from pipelines.alerting.backfill import backfill, backfill_query, document_from_article
from pipelines.alerting.delivery import (
    SinkWorker,
    deliver_alerts,
    delivery_group,
    format_alert,
    story_sizes,
    tail_alerts,
)
from pipelines.alerting.raising import RaiseAlerts
from pipelines.alerting.store import AlertStore, WatchlistFile, alert_source, ensure_alerts
from pipelines.alerting.stories import AssignStories, find_story_candidates

__all__ = [
    "AlertStore",
    "AssignStories",
    "RaiseAlerts",
    "SinkWorker",
    "WatchlistFile",
    "alert_source",
    "backfill",
    "backfill_query",
    "deliver_alerts",
    "delivery_group",
    "document_from_article",
    "ensure_alerts",
    "find_story_candidates",
    "format_alert",
    "story_sizes",
    "tail_alerts",
]
