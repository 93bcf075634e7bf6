"""LLM-Sim: a chat model prompted with the persona card and the grammar prompt, no tuning (the paper's baseline).

`use_card=False` gives the -Both ablation (untuned and without persona). The default backend is the embedded
SmolLM2 model (text only: frames are not sent); any `personas.models` backend can be passed instead.
"""

from __future__ import annotations

from typing import Any

from personas.policy.base import PersonaLike
from personas.policy.inference import ChatPolicy


class LLMSimPolicy(ChatPolicy):
    """The grammar policy over an untuned chat model."""

    @classmethod
    def build(cls, persona: PersonaLike, chat: Any = None, chat_config: Any = None, **options: Any) -> LLMSimPolicy:
        """LLM-Sim for `persona` over `chat` (a ChatModel) or `chat_config` (ChatModelConfig; default embedded)."""
        from personas.models.base import GenerationOptions
        from personas.models.factory import ChatModelConfig, build_chat_model

        if chat is None:
            chat = build_chat_model(chat_config or ChatModelConfig())
        generation = GenerationOptions(temperature=float(options.pop("temperature", 0.0)),
                                       max_tokens=int(options.pop("max_new_tokens", 48)))
        images = bool(options.pop("images", chat_config is not None and chat_config.backend == "http"))
        return cls(chat, generation, images=images, **options)
