"""Helpers shared by the TRL trainers (persona policy, sandbox creators): tiny models built in code, LoRA snapshots,
device choice. Tiny models are random weights with a byte-level BPE tokenizer trained on a given corpus: tests and
CPU smoke runs need no hub download.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recorder.errors import PersonaActError

TINY = "tiny"
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# Qwen2.5-VL's chat markup (im_start/im_end, vision_start + image_pad + vision_end per image), with content as a
# string or a list of {"type": "image"|"text"} parts; ends with the generation header when asked.
QWEN_VL_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN_VL_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                    "<|image_pad|>", "<|video_pad|>"]


class DeviceUnavailableError(RuntimeError, PersonaActError):
    """The requested device is not there; the message names the option."""


def use_cpu(device: str, who: str = "training") -> bool:
    """Whether to run on the CPU for a device option (auto | cpu | cuda); `who` names the option in errors."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"{who}: cuda asked for but no CUDA GPU is visible; set it to cpu or auto")
    return device == "cpu" or not torch.cuda.is_available()


def bf16_ok(cpu: bool) -> bool:
    """bf16 mixed precision only on a GPU that supports it (CPU runs stay fp32)."""
    import torch

    return not cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def lora_state(model: Any) -> dict[str, Any]:
    """A detached copy of every LoRA weight of a PEFT model."""
    return {name: p.detach().float().cpu().clone() for name, p in model.named_parameters() if "lora_" in name}


def lora_change(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Summed absolute difference between two LoRA weight snapshots (0.0 when nothing trained)."""
    return float(sum((after[name] - before[name]).abs().sum().item() for name in before if name in after))


def train_tokenizer(corpus: Sequence[str], specials: Sequence[str], vocab_size: int, **tokens: str) -> Any:
    """A byte-level BPE tokenizer trained on `corpus` (special tokens first), wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    core.train_from_iterator(list(corpus), trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials),
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=core, **tokens)


def build_tiny_causal_lm(folder: Path, corpus: Sequence[str], seed: int = 0, vocab_size: int = 512) -> Path:
    """Save a random 2-layer Llama (hidden 32) and a tokenizer trained on `corpus` into `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>"]
    tokenizer = train_tokenizer(corpus, specials, vocab_size, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                unk_token="<unk>", padding_side="left")
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def qwen_vl_config(vocab_size: int, token_ids: dict[str, int], hidden: int = 32, layers: int = 2, heads: int = 2,
                   kv_heads: int = 1, intermediate: int = 64, vision_hidden: int = 32, vision_depth: int = 1,
                   vision_heads: int = 2, vision_intermediate: int = 64) -> Any:
    """A Qwen2.5-VL config of the given shapes (vision output = text hidden size, M-RoPE sections fit the heads)."""
    from transformers import Qwen2_5_VLConfig

    half = hidden // heads // 2  # M-RoPE splits each head's rotary half into temporal/height/width sections
    sections = [half - 2 * (half // 3), half // 3, half // 3]
    text = {"vocab_size": vocab_size, "hidden_size": hidden, "intermediate_size": intermediate,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
            "max_position_embeddings": 32768, "rope_scaling": {"type": "mrope", "mrope_section": sections},
            "bos_token_id": token_ids["bos"], "eos_token_id": token_ids["eos"], "pad_token_id": token_ids["pad"],
            "tie_word_embeddings": False}
    vision = {"depth": vision_depth, "hidden_size": vision_hidden, "intermediate_size": vision_intermediate,
              "num_heads": vision_heads, "out_hidden_size": hidden, "fullatt_block_indexes": [vision_depth - 1],
              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112}
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, image_token_id=token_ids["image"],
                            video_token_id=token_ids["video"], vision_start_token_id=token_ids["vision_start"],
                            vision_end_token_id=token_ids["vision_end"], tie_word_embeddings=False)


def qwen_vl_processor(corpus: Sequence[str], vocab_size: int = 400, min_pixels: int = 56 * 56,
                      max_pixels: int = 112 * 112) -> tuple[Any, dict[str, int]]:
    """A Qwen2.5-VL processor around a tokenizer trained on `corpus`, and the special-token ids a config needs."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    tokenizer = train_tokenizer(corpus, QWEN_VL_SPECIALS, vocab_size, pad_token="<|endoftext|>",
                                bos_token="<|endoftext|>", eos_token="<|im_end|>", padding_side="left")
    tokenizer.chat_template = QWEN_VL_CHAT_TEMPLATE
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in [
        ("pad", "<|endoftext|>"), ("bos", "<|endoftext|>"), ("eos", "<|im_end|>"), ("image", "<|image_pad|>"),
        ("video", "<|video_pad|>"), ("vision_start", "<|vision_start|>"), ("vision_end", "<|vision_end|>")]}
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=min_pixels,
                                                                          max_pixels=max_pixels, size=size),
                                    tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(size=size),
                                    chat_template=QWEN_VL_CHAT_TEMPLATE)
    return processor, ids


# Qwen2.5-VL-7B-Instruct's shapes (text and vision towers), for random-weight benchmarks at full size.
QWEN_VL_7B_SHAPES = {"hidden": 3584, "layers": 28, "heads": 28, "kv_heads": 4, "intermediate": 18944,
                     "vision_hidden": 1280, "vision_depth": 32, "vision_heads": 16, "vision_intermediate": 3420}
QWEN_VL_7B_VOCAB = 152064


def random_qwen_vl(ids: dict[str, int], vocab_size: int, shapes: dict[str, int], seed: int = 0,
                   device: str = "cpu", dtype: Any = None) -> Any:
    """A Qwen2.5-VL with random weights of the given shapes, built directly on `device` (no hub, nothing saved)."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    config = qwen_vl_config(vocab_size, ids, **shapes)
    if shapes.get("vision_depth", 1) > 4:  # full-size vision towers use Qwen's windowed/full attention pattern
        config.vision_config.fullatt_block_indexes = [7, 15, 23, 31]
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype or torch.float32)
    model.generation_config.eos_token_id = ids["eos"]
    model.generation_config.pad_token_id = ids["pad"]
    return model


def build_tiny_qwen_vl(folder: Path, corpus: Sequence[str], seed: int = 0, vocab_size: int = 400,
                       min_pixels: int = 56 * 56, max_pixels: int = 112 * 112) -> Path:
    """Save a random 2-layer Qwen2.5-VL (hidden 32, 1 vision block), a tokenizer trained on `corpus` and the
    Qwen2.5-VL processor (small pixel budget) into `folder`: loadable with from_pretrained, no hub."""
    processor, ids = qwen_vl_processor(corpus, vocab_size, min_pixels, max_pixels)
    model = random_qwen_vl(ids, len(processor.tokenizer), {}, seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
