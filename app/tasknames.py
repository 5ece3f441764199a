"""Task names and queues: the API sends tasks by these names, never by importing them."""

TRANSCRIBE = "scribe.transcribe"
RECONCILE = "scribe.reconcile"
PURGE_EXPIRED = "scribe.purge_expired"  # retention (issue 3)

QUEUE_TRANSCRIBE = "transcribe"
QUEUE_DEFAULT = "default"

# Issue 4: webhooks and the enhanced-AI step (all on the default queue).
DELIVER_WEBHOOK = "scribe.webhooks.deliver"
SWEEP_WEBHOOKS = "scribe.webhooks.sweep"
ENHANCE = "scribe.enhance"
