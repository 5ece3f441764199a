"""The worker's pipeline: decode, ASR, diarization, merge, renderings.

Imported only inside worker code paths and the local CLI; the API never imports it.
"""
