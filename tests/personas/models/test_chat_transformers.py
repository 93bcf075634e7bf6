"""The local transformers backend: clear errors for bad paths, and a tiny random model built in code."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from personas.models import GenerationOptions, ImagePart, Message, ModelUnavailableError, TextPart, user
from personas.models.transformers_local import TransformersChat, resolve_model_location, to_template_messages

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant {% endif %}"
)
WORDS = ["hello", "world", "persona", "video", "like", "share", "user", "assistant", "system", "[image]", "yes", "no"]


def test_missing_path_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="`model_path`.*nothing is downloaded"):
        TransformersChat(tmp_path / "absent")
    with pytest.raises(ModelUnavailableError, match="`model_path`"):
        TransformersChat("")


def test_gguf_and_directory_checks(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="`gguf_file`"):
        resolve_model_location(tmp_path, "model.gguf")
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        resolve_model_location(tmp_path, None)
    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model_location(gguf, None) == (tmp_path, "m.Q4.gguf")


def test_images_become_placeholders_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    message = Message("user", (TextPart("look"), ImagePart(data=b"x", mime="image/png")))
    with caplog.at_level(logging.WARNING):
        converted = to_template_messages([Message("system", "s"), message])
    assert converted == [{"role": "system", "content": "s"}, {"role": "user", "content": "look\n[image]"}]
    assert "replaced 1 image" in caplog.text


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer Llama with a word-level ChatML tokenizer, saved like a Hub model."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>"]
    vocab = {token: index for index, token in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|im_end|>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|im_end|>"], bos_token_id=None,
    )
    directory = tmp_path_factory.mktemp("tiny-chat")
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_tiny_model_generates_greedy_and_seeded(tiny_model_dir: Path) -> None:
    chat = TransformersChat(tiny_model_dir, device="cpu", default_options=GenerationOptions(max_tokens=6))
    conversation = [Message("system", "persona"), user("hello world")]
    greedy = chat.chat(conversation)
    assert isinstance(greedy, str) and greedy == chat.chat(conversation)
    assert len(greedy.split()) <= 6
    sampled = GenerationOptions(temperature=1.0, seed=7, max_tokens=8)
    assert chat.chat(conversation, sampled) == chat.chat(conversation, sampled)
    assert chat.chat_batch([conversation, conversation]) == [greedy, greedy]
    assert chat.count_tokens(conversation) > 4
    assert "tiny-chat" in repr(chat)


def test_batched_generation_equals_one_by_one_when_greedy(tiny_model_dir: Path) -> None:
    chat = TransformersChat(tiny_model_dir, device="cpu", default_options=GenerationOptions(max_tokens=8))
    chat.max_batch = 3  # more conversations than one batch holds, of different prompt lengths
    conversations = [
        [user("hello")],
        [Message("system", "persona video user"), user("hello world like share yes no")],
        [user("video video")],
        [Message("system", "assistant"), user("no")],
        [user("like share user persona world hello")],
    ]
    one_by_one = [chat.chat(conversation) for conversation in conversations]
    assert chat.chat_batch(conversations) == one_by_one
    assert len({len(c[-1].content) for c in conversations}) > 1  # the batch really needed padding
    sampled = GenerationOptions(temperature=1.0, seed=3, max_tokens=8)
    assert chat.chat_batch(conversations, sampled) == chat.chat_batch(conversations, sampled)  # seeded
    assert chat.chat_batch([]) == []
