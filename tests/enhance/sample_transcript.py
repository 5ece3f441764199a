"""A transcript in the stored JSON shape, from the pyannote sample's reference (sample.stm)."""

from __future__ import annotations

from typing import Any

LINES = [
    ("SPEAKER_00", 6.68, 7.16, "Hello?"),
    ("SPEAKER_01", 7.634, 8.155, "Hello?"),
    ("SPEAKER_00", 8.436, 9.798, "Oh, hello. I didn't know you were there."),
    ("SPEAKER_01", 9.838, 10.78, "Neither did I."),
    ("SPEAKER_00", 10.78, 12.54, "Okay, then I thought you know, I heard a beep."),
    ("SPEAKER_00", 12.542, 14.184, "This is Diane in New Jersey."),
    ("SPEAKER_01", 14.444, 17.769, "And I'm Sheila in Texas, originally from Chicago."),
    ("SPEAKER_00", 17.789, 20.113, "Oh, I'm originally from Chicago also."),
    ("SPEAKER_00", 20.173, 21.475, "I'm in New Jersey now though."),
    ("SPEAKER_01", 21.935, 23.978, "Well, there isn't that much difference."),
    (
        "SPEAKER_01",
        24.058,
        28.425,
        "At least you know, they all call me a Yankee down here, so what can I say?",
    ),
    ("SPEAKER_00", 28.445, 29.987, "Oh, I don't hear that in New Jersey now."),
]


def sample_result() -> dict[str, Any]:
    """The stored JSON result of a diarized transcription of the sample."""
    return {
        "language": "en",
        "segments": [
            {"id": i, "start": start, "end": end, "text": text, "speaker": speaker}
            for i, (speaker, start, end, text) in enumerate(LINES)
        ],
    }
