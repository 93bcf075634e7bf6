"""Chat-model backends behind one small interface: `ChatModel.chat(messages, options) -> str`."""

from personas.models.base import (
    ChatBackendError,
    ChatModel,
    GenerationOptions,
    ImagePart,
    Message,
    ModelUnavailableError,
    TextPart,
    assistant,
    system,
    user,
)
from personas.models.factory import ChatModelConfig, build_chat_model
from personas.models.fake import ChatCall, ScriptedChatModel, ScriptExhaustedError
from personas.models.json_mode import JSONExtractError, JSONModeError, chat_json, extract_json_object

__all__ = [
    "ChatBackendError",
    "ChatCall",
    "ChatModel",
    "ChatModelConfig",
    "GenerationOptions",
    "ImagePart",
    "JSONExtractError",
    "JSONModeError",
    "Message",
    "ModelUnavailableError",
    "ScriptExhaustedError",
    "ScriptedChatModel",
    "TextPart",
    "assistant",
    "build_chat_model",
    "chat_json",
    "extract_json_object",
    "system",
    "user",
]
