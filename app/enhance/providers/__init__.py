"""Enhancement providers, chosen by ENHANCEMENT_PROVIDER (imported only in the worker's task)."""

from __future__ import annotations

from app.config import Settings
from app.enhance.providers.base import EnhancementProvider


def get_provider(settings: Settings) -> EnhancementProvider:
    """The configured provider."""
    if settings.enhancement_provider == "openai":
        from app.enhance.providers.openai_compat import OpenAICompatibleProvider

        return OpenAICompatibleProvider(settings)
    from app.enhance.providers.offline import get_offline_provider

    return get_offline_provider(
        settings.spacy_model, settings.sentence_model, settings.summary_sentences
    )
