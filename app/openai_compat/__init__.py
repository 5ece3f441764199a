"""The OpenAI-compatible audio API (/v1/audio/transcriptions, /v1/audio/translations)."""
