"""Chat with a local Hugging Face model directory or GGUF file through transformers (never the Hub)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from personas.models.base import (
    ChatBackendError,
    ChatModel,
    Conversation,
    GenerationOptions,
    Message,
    ModelUnavailableError,
    TextPart,
    check_conversation,
    truncate_at_stop,
)

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
IMAGE_PLACEHOLDER = "[image]"
# ChatML end-of-turn; added to the EOS set because some converted checkpoints only list <|endoftext|>.
_EXTRA_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>")


class TransformersChat(ChatModel):
    """A `ChatModel` running a local causal LM with its tokenizer's chat template (text only)."""

    def __init__(
        self,
        model_path: str | Path,
        gguf_file: str | None = None,
        *,
        device: Device = "auto",
        default_options: GenerationOptions | None = None,
        name: str | None = None,
    ) -> None:
        directory, gguf = resolve_model_location(model_path, gguf_file)
        self.model_dir = directory
        self.gguf_file = gguf
        self.device = pick_device(device)
        self.default_options = default_options or GenerationOptions()
        self.name = name or (gguf or directory.name)
        self._lock = threading.Lock()
        self.max_batch = 16  # conversations per batched generate call (bounds padding waste and memory)
        self.tokenizer, self.model = _load(directory, gguf, self.device)
        self._end_token_ids = end_token_ids(self.tokenizer)

    def __repr__(self) -> str:
        return f"TransformersChat(model_dir={str(self.model_dir)!r}, gguf_file={self.gguf_file!r}, device={self.device!r})"

    def chat(self, messages: Conversation, options: GenerationOptions | None = None) -> str:
        """Generate the assistant's reply (greedy at temperature 0, else seeded sampling)."""
        opts = options or self.default_options
        prompt = to_template_messages(check_conversation(messages))
        with self._lock:
            text = self._generate(prompt, opts)
        return truncate_at_stop(text, opts.stop).strip()

    def chat_batch(self, conversations: Sequence[Conversation], options: GenerationOptions | None = None) -> list[str]:
        """Answer many conversations with left-padded batched `generate` calls (same replies as `chat` when greedy)."""
        opts = options or self.default_options
        prompts = [to_template_messages(check_conversation(messages)) for messages in conversations]
        if len(prompts) <= 1:
            return [self.chat(messages, opts) for messages in conversations]
        encoded = [self._encode(prompt)["input_ids"][0] for prompt in prompts]
        # similar lengths share a batch so little compute goes to padding; replies return in input order
        order = sorted(range(len(encoded)), key=lambda k: len(encoded[k]))
        replies: list[str] = [""] * len(encoded)
        with self._lock:
            for start in range(0, len(order), self.max_batch):
                chunk = order[start:start + self.max_batch]
                for k, text in zip(chunk, self._generate_padded([encoded[k] for k in chunk], opts)):
                    replies[k] = truncate_at_stop(text, opts.stop).strip()
        return replies

    def _generate_padded(self, rows: list[torch.Tensor], opts: GenerationOptions) -> list[str]:
        import torch

        if self.model is None:
            raise ChatBackendError("this TransformersChat was closed")
        kwargs = generation_kwargs(opts, self._end_token_ids, self.tokenizer)
        input_ids, attention_mask = left_pad(rows, kwargs["pad_token_id"])
        if kwargs["do_sample"] and opts.seed is not None:
            torch.manual_seed(opts.seed)
        try:
            with torch.inference_mode():
                output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        except (RuntimeError, ValueError) as err:
            raise ChatBackendError(f"batched generation failed in {self.name}: {err}") from err
        new_tokens = output[:, input_ids.shape[1]:].tolist()
        return [str(self.tokenizer.decode(until_end(tokens, self._end_token_ids), skip_special_tokens=True))
                for tokens in new_tokens]

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self.model = None  # type: ignore[assignment]

    def count_tokens(self, messages: Conversation) -> int:
        """How many prompt tokens the chat template makes of `messages` (for budgeting context)."""
        encoded = self._encode(to_template_messages(check_conversation(messages)))
        return int(encoded["input_ids"].shape[1])

    def _encode(self, prompt: list[dict[str, str]]) -> Any:
        encoded = self.tokenizer.apply_chat_template(
            prompt, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {key: value.to(self.model.device) for key, value in encoded.items()}

    def _generate(self, prompt: list[dict[str, str]], opts: GenerationOptions) -> str:
        import torch

        if self.model is None:
            raise ChatBackendError("this TransformersChat was closed")
        inputs = self._encode(prompt)
        kwargs = generation_kwargs(opts, self._end_token_ids, self.tokenizer)
        if kwargs["do_sample"] and opts.seed is not None:
            torch.manual_seed(opts.seed)
        try:
            with torch.inference_mode():
                output = self.model.generate(**inputs, **kwargs)
        except (RuntimeError, ValueError) as err:
            raise ChatBackendError(f"generation failed in {self.name}: {err}") from err
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return str(self.tokenizer.decode(new_tokens, skip_special_tokens=True))


def left_pad(rows: Sequence[torch.Tensor], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-D token rows into (batch, longest) ids and attention mask, padding on the left for generation."""
    import torch

    longest = max(len(row) for row in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=rows[0].dtype, device=rows[0].device)
    mask = torch.zeros((len(rows), longest), dtype=torch.long, device=rows[0].device)
    for k, row in enumerate(rows):
        ids[k, longest - len(row):] = row
        mask[k, longest - len(row):] = 1
    return ids, mask


def until_end(tokens: Sequence[int], end_ids: Sequence[int]) -> list[int]:
    """Tokens before the first end-of-turn id (rows that finish early are padded after it).

    >>> until_end([5, 6, 2, 2, 2], [2])
    [5, 6]
    """
    ends = set(end_ids)
    cut = next((k for k, token in enumerate(tokens) if token in ends), len(tokens))
    return list(tokens[:cut])


def resolve_model_location(model_path: str | Path | None, gguf_file: str | None) -> tuple[Path, str | None]:
    """Split the configured location into (directory, GGUF file name or None); check both exist."""
    if not model_path:
        raise ModelUnavailableError(
            "the transformers chat backend needs `model_path`: a local Hugging Face model directory or a .gguf file"
        )
    path = Path(model_path).expanduser()
    if path.suffix.lower() == ".gguf" and gguf_file is None:
        path, gguf_file = path.parent, path.name
    if not path.exists():
        raise ModelUnavailableError(
            f"model_path {str(path)!r} does not exist; set the chat option `model_path` to a local model "
            "directory (or .gguf file); nothing is downloaded from a hub"
        )
    if gguf_file is not None and not (path / gguf_file).is_file():
        raise ModelUnavailableError(
            f"GGUF file {gguf_file!r} not found in {str(path)!r}; check the chat options `model_path` and `gguf_file`"
        )
    if gguf_file is None and not (path / "config.json").is_file():
        raise ModelUnavailableError(
            f"{str(path)!r} has no config.json, so it is not a Hugging Face model directory; set `model_path` "
            "to one, or to a .gguf file (or set `gguf_file`)"
        )
    return path, gguf_file


def pick_device(device: Device) -> str:
    """Resolve 'auto' to cuda when a GPU is visible, else cpu; reject cuda without a GPU."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise ModelUnavailableError("device is 'cuda' but no CUDA GPU is visible; set the chat option `device: cpu`")
    return "cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu"


def _dtype_for(device: str) -> torch.dtype:
    import torch

    if device == "cpu":
        return torch.float32  # CPU kernels for half precision are slow or missing
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _load(directory: Path, gguf_file: str | None, device: str) -> tuple[Any, Any]:
    """Load tokenizer and model from local files only; wrap load failures as ModelUnavailableError."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True, **extra)
        model: Any = AutoModelForCausalLM.from_pretrained(
            directory, local_files_only=True, dtype=_dtype_for(device), **extra
        )
    except (OSError, ValueError, KeyError) as err:
        raise ModelUnavailableError(
            f"cannot load a chat model from {str(directory)!r}"
            f"{f' (gguf_file={gguf_file!r})' if gguf_file else ''}: {err}; check the chat option `model_path`"
        ) from err
    if getattr(tokenizer, "chat_template", None) is None:
        raise ModelUnavailableError(
            f"the tokenizer in {str(directory)!r} has no chat template; point `model_path` at an instruct/chat model"
        )
    model.to(device)
    model.eval()
    return tokenizer, model


def end_token_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an assistant turn: the tokenizer's EOS plus known end-of-turn markers."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    vocab = tokenizer.get_vocab()
    ids += [vocab[token] for token in _EXTRA_END_TOKENS if token in vocab]
    return sorted(set(ids))


def generation_kwargs(opts: GenerationOptions, end_ids: Sequence[int], tokenizer: Any) -> dict[str, Any]:
    """Arguments for `model.generate` matching the options; greedy when temperature is 0."""
    kwargs: dict[str, Any] = {
        "max_new_tokens": opts.max_tokens,
        "eos_token_id": list(end_ids),
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_ids[0],
        "do_sample": opts.temperature > 0,
    }
    if opts.temperature > 0:
        # Plain temperature sampling: neutralise any top-k/top-p defaults shipped with the checkpoint.
        kwargs.update(temperature=opts.temperature, top_p=1.0, top_k=0)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if opts.stop:
        kwargs.update(stop_strings=list(opts.stop), tokenizer=tokenizer)
    return kwargs


def to_template_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Messages as chat-template dicts; images become a short placeholder (this backend reads text only)."""
    converted = []
    dropped = 0
    for message in messages:
        if isinstance(message.content, str):
            text = message.content
        else:
            pieces = [p.text if isinstance(p, TextPart) else IMAGE_PLACEHOLDER for p in message.content]
            dropped += sum(1 for p in message.content if not isinstance(p, TextPart))
            text = "\n".join(pieces)
        converted.append({"role": message.role, "content": text})
    if dropped:
        logger.warning("text-only chat model: replaced %d image(s) with %r", dropped, IMAGE_PLACEHOLDER)
    return converted
