"""Task names and queues: the API sends tasks by these names, never by importing them."""

TRANSCRIBE = "scribe.transcribe"
RECONCILE = "scribe.reconcile"

QUEUE_TRANSCRIBE = "transcribe"
QUEUE_DEFAULT = "default"
