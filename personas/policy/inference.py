"""Text-generating policies: the grammar prompt in, a parsed Decision out, with latency and format failures counted.

- `ChatPolicy`: any `personas.models` chat backend (embedded SmolLM2, local transformers, or an OpenAI-compatible
  server such as vLLM serving the trained adapter; key frames travel as images).
- `LocalVLMPolicy`: a trained adapter (or merged model) run with transformers, batched (`act_batch`).
An unparseable reply is counted in `stats` (FormatStats) and answered with the fallback decision: the median of the
session's watch times so far (`fallback_watch_s` before any), no engagement.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personas.policy.base import Decision, PersonaLike
from personas.policy.grammar import FormatStats, PolicyPrompt, VideoView, build_prompt, parse_reply
from recorder.feed import Observation
from recorder.trace import Step


@dataclass(frozen=True)
class PolicyRequest:
    """One decision to make: who, what is on screen, and the session so far."""

    persona: PersonaLike
    observation: Observation
    history: Sequence[Step]


def persona_text(persona: Any) -> str:
    """The persona card text a prompt shows: the Markdown card of a full Persona, a `card` attribute, or ''."""
    if hasattr(persona, "narrative") and hasattr(persona, "traits"):
        from personas.persona import persona_card

        return persona_card(persona)
    return str(getattr(persona, "card", "") or "")


def frame_jpeg(frame: Any, max_pixels: int) -> bytes | None:
    """An observation's BGR frame (numpy array) as JPEG bytes, downscaled to `max_pixels`; None without one."""
    image = frame_image(frame, max_pixels)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def frame_image(frame: Any, max_pixels: int) -> Any:
    """An observation's BGR frame as an RGB PIL image (pixels capped), or None."""
    if frame is None:
        return None
    import numpy as np
    from PIL import Image

    from personas.policy.dataset import cap_pixels

    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] < 3:
        return None
    return cap_pixels(Image.fromarray(np.ascontiguousarray(array[:, :, 2::-1])), max_pixels)


class GrammarPolicy:
    """Shared logic: prompt building, parsing, fallback, format statistics and per-call latency."""

    def __init__(self, card: str | None = None, history_len: int = 5, max_pixels: int = 200_704,
                 fallback_watch_s: float = 5.0, use_card: bool = True) -> None:
        self.card = card
        self.history_len = history_len
        self.max_pixels = max_pixels
        self.fallback_watch_s = fallback_watch_s
        self.use_card = use_card  # False: the -Persona ablation (no card in the prompt)
        self.stats = FormatStats()
        self.last_modes: list[str] = []  # parse mode of each reply of the latest batch (strict | lenient | failed)

    def prompt(self, request: PolicyRequest, n_images: int) -> PolicyPrompt:
        """The grammar prompt for one request."""
        card = (self.card if self.card is not None else persona_text(request.persona)) if self.use_card else ""
        obs = request.observation
        top = "/".join(obs.category.path) if obs.category else None
        return build_prompt(card, request.history, VideoView(obs.meta, top, obs.transcript, n_images), self.history_len)

    def decide(self, replies: Sequence[str], requests: Sequence[PolicyRequest], seconds: float) -> list[Decision]:
        """Parse replies (counting failures) into decisions; the batch's time is shared evenly as latency."""
        out = []
        each = seconds / max(len(replies), 1)
        self.last_modes = []
        for reply, request in zip(replies, requests, strict=True):
            parsed = parse_reply(reply)
            self.stats.add(parsed)
            self.last_modes.append(parsed.mode)
            decision = parsed.decision or self.fallback(request.history)
            out.append(Decision(**{**decision.to_dict(), "latency_s": each}))
        return out

    def fallback(self, history: Sequence[Step]) -> Decision:
        """The decision for an unparseable reply: the session's median watch time, no engagement."""
        watched = [s.watch_s for s in history if s.watch_s > 0]
        return Decision(statistics.median(watched) if watched else self.fallback_watch_s)

    def act(self, persona: PersonaLike, observation: Observation, history: Sequence[Step]) -> Decision:
        """One decision (see `act_batch`)."""
        return self.act_batch([PolicyRequest(persona, observation, history)])[0]

    def act_batch(self, requests: Sequence[PolicyRequest]) -> list[Decision]:
        """Decisions for many requests at once."""
        raise NotImplementedError


class ChatPolicy(GrammarPolicy):
    """The grammar policy over any chat backend (LLM-Sim, or a served adapter over HTTP)."""

    def __init__(self, chat: Any, options: Any = None, images: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chat = chat
        self.options = options
        self.images = images  # send key frames (servers with a VLM); text-only models get none

    def act_batch(self, requests: Sequence[PolicyRequest]) -> list[Decision]:
        """Decisions for `requests`, answered through the backend's chat_batch (concurrent where it can be)."""
        conversations = []
        for request in requests:
            jpeg = frame_jpeg(request.observation.frame, self.max_pixels) if self.images else None
            frames = [jpeg] if jpeg else []
            conversations.append(self.prompt(request, len(frames)).chat_messages(frames))
        started = time.perf_counter()
        replies = self.chat.chat_batch(conversations, self.options)
        return self.decide(replies, requests, time.perf_counter() - started)


class HTTPVLMPolicy(ChatPolicy):
    """The trained policy served by an OpenAI-compatible server (vLLM: --enable-lora --lora-modules name=adapter)."""

    @classmethod
    def build(cls, persona: PersonaLike, model: str, base_url: str, **options: Any) -> HTTPVLMPolicy:
        """Connect to `base_url` and ask for the served model (or LoRA module) `model`."""
        from personas.models.base import GenerationOptions
        from personas.models.openai_http import OpenAICompatibleChat

        chat = OpenAICompatibleChat(base_url, model, timeout_s=float(options.pop("timeout_s", 60.0)),
                                    concurrency=int(options.pop("concurrency", 8)))
        generation = GenerationOptions(temperature=float(options.pop("temperature", 0.0)),
                                       max_tokens=int(options.pop("max_new_tokens", 64)))
        return cls(chat, generation, **options)


class LocalVLMPolicy(GrammarPolicy):
    """A trained adapter (base model + LoRA) or a merged model, run locally with transformers, batched."""

    def __init__(self, model: Any, processor: Any, max_new_tokens: int = 64, temperature: float = 0.0,
                 batch_size: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.processor = processor
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: Path, persona: PersonaLike | None = None, device: str = "auto", **options: Any) -> LocalVLMPolicy:
        """Load an adapter folder (adapter_config.json; its base model must be local) or a full model folder."""
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from personas.models.training import use_cpu
        from personas.policy.loading import PolicySpecError

        cpu = use_cpu(device, "policy device")
        model: Any
        dtype = torch.float32 if cpu else torch.bfloat16
        if (folder / "adapter_config.json").is_file():
            from peft import PeftConfig, PeftModel

            base = Path(PeftConfig.from_pretrained(str(folder)).base_model_name_or_path or "")
            if not (base / "config.json").is_file():
                raise PolicySpecError(f"{folder}: the adapter's base model {str(base)!r} is not a local folder; "
                                      "merge the adapter or fix base_model_name_or_path in adapter_config.json")
            model = PeftModel.from_pretrained(
                AutoModelForImageTextToText.from_pretrained(base, local_files_only=True, dtype=dtype), str(folder))
        elif (folder / "config.json").is_file():
            model = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True, dtype=dtype)
        else:
            raise PolicySpecError(f"{folder}: neither an adapter (adapter_config.json) nor a model (config.json)")
        model.to("cpu" if cpu else "cuda").eval()
        processor = AutoProcessor.from_pretrained(folder, local_files_only=True, padding_side="left")
        return cls(model, processor, **options)

    def act_batch(self, requests: Sequence[PolicyRequest]) -> list[Decision]:
        """Decisions for `requests`, generated `batch_size` at a time with left padding."""
        out: list[Decision] = []
        modes: list[str] = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            started = time.perf_counter()
            replies = self._generate(chunk)
            out += self.decide(replies, chunk, time.perf_counter() - started)
            modes += self.last_modes
        self.last_modes = modes
        return out

    def _generate(self, requests: Sequence[PolicyRequest]) -> list[str]:
        import torch

        texts, images = [], []
        for request in requests:
            image = frame_image(request.observation.frame, self.max_pixels)
            messages = self.prompt(request, 1 if image is not None else 0).trl_messages()
            texts.append(self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
            if image is not None:
                images.append(image)
        if images and len(images) != len(requests):  # a batch mixes framed and frameless views: go one by one
            return [r for request in requests for r in self._generate([request])]
        inputs = self.processor(text=texts, images=images or None, return_tensors="pt", padding=True)
        inputs = inputs.to(self.model.device)
        sample = self.temperature > 0
        with torch.no_grad():
            generated = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=sample,
                                            temperature=self.temperature if sample else None,
                                            pad_token_id=self.processor.tokenizer.pad_token_id)
        new = generated[:, inputs["input_ids"].shape[1]:]
        return list(self.processor.batch_decode(new, skip_special_tokens=True))
