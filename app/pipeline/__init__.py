"""The worker's pipeline: decode, ASR, diarization, merge, renderings.

Imported only inside worker code paths and the local CLI. The API imports only `formats` (pure
renderers, no ML stack) when it renders a result with speaker names.
"""
