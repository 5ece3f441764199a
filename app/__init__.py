"""Scribe Rabbit: self-hosted transcription and speaker diarization."""

__version__ = "0.1.0"
