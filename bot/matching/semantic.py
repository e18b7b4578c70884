"""Meaning beside spelling: a static word-embedding model that places texts in one vector space.

rapidfuzz and the word index see letters, so "if someone invades one member do the
rest have to fight" shares no content word with "Article 5: an attack on one is an
attack on all". This module gives each text a 256-number vector whose direction
reflects what it is about; the cosine of two vectors says how close their meanings are.

The model is WordLlama's ``l2_supercat`` (token embeddings distilled from large
language models, 32,000 tokens x 256 dimensions, 16 MB of float16), which the
``wordllama`` package ships inside its wheel. Inference is a table lookup and an
average, so it is done here in a few lines of numpy over the bundled files rather
than through the package's loader, which imports an HTTP client and falls back to
downloading a tokenizer when it looks in the wrong folder. Nothing here touches the
network (``tests/test_semantic.py`` runs the load under an audit hook that forbids it).
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

Vectors = npt.NDArray[np.float32]

MODEL_PACKAGE = "wordllama"
WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
DIMENSIONS = 256


class ModelMissing(RuntimeError):
    """The embedding model's files are not installed (the ``wordllama`` package is missing or incomplete)."""


def model_folder() -> Path:
    """Where the installed ``wordllama`` package keeps its files, found without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the {MODEL_PACKAGE} package is not installed; run: pip install {MODEL_PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True, slots=True, eq=False)
class Embedder:
    """Turns texts into unit vectors: tokenise, look up each token's vector, average, normalise."""

    tokenizer: Tokenizer
    table: npt.NDArray[np.float16]  # one row per token id

    # Texts tokenised at once: each encoding holds tokens, offsets and masks too, so encoding the
    # 276,000 phrasings of a 10,000-entry knowledge base in one call held about 0.5 GB at once.
    BATCH = 4096

    @classmethod
    def load(cls, folder: Path | None = None) -> Embedder:
        folder = folder or model_folder()
        try:
            table = load_file(str(folder / WEIGHTS))["embedding.weight"]  # float16, as shipped: 16 MB
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        except (OSError, KeyError, Exception) as error:  # tokenizers raises plain Exception on a bad file
            raise ModelMissing(f"cannot load the embedding model from {folder}: {error}") from error
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return cls(tokenizer, table)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors, one row per text; an empty text (or one of unknown tokens only) is the zero vector."""
        vectors = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), self.BATCH):
            for row, ids in enumerate(self._token_ids(texts[start : start + self.BATCH]), start):
                if ids:
                    vectors[row] = self.table[ids].mean(axis=0, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        # One text (a question) skips the batch call, whose hand-off to a thread pool costs more than it saves.
        if len(texts) == 1:
            return [self.tokenizer.encode(texts[0], add_special_tokens=False).ids]
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled by reference: a snapshot stores vectors, never the model, which is loaded again from the package."""
        return (_shared_embedder, ())


def _principal_axes(rows: Vectors, count: int) -> Vectors:
    """The ``count`` directions along which ``rows`` vary most (columns of a 256 x count matrix)."""
    _, _, axes = np.linalg.svd(rows - rows.mean(axis=0), full_matrices=False)
    return np.ascontiguousarray(axes[:count].T.astype(np.float32))


_SHARED: Embedder | None = None


def _shared_embedder() -> Embedder:
    """One model per process: every matcher (reloads, snapshots, tests) shares the same 16 MB table."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Embedder.load()
    return _SHARED


shared_embedder = _shared_embedder


class SemanticIndex:
    """Every entry's phrasings as unit vectors, plus one centroid per entry to find candidates fast.

    An entry's semantic score for a question is the cosine of its closest phrasing
    plus ``SUMMARY_SHARE`` x the cosine of its summary (a little of what the answer
    says helps where no phrasing is close). Phrasing vectors are kept in one float32
    matrix ordered by entry, so an entry's phrasings are one slice (float16 would halve
    the memory, but converting the candidates' rows for each question cost 0.14 ms
    against 0.02 ms for the product itself).
    """

    SUMMARY_SHARE = 0.2
    # Entries found by meaning alone, beside those the question's words point to. 6 + 8 candidates answered
    # the tuning sets as well as 8 + 16 (out of fold: 80.0% against 79.6% right) with half the evidence to weigh.
    CENTROID_CANDIDATES = 8
    # Finding those entries reads every centroid for every question: 51 MB at 50,000 entries, about 5 ms
    # of memory traffic. Above this many entries the search runs on the centroids' main 64 directions
    # (a quarter of the bytes); the candidates found are still scored on the full vectors.
    PROJECT_ABOVE = 5000
    SEARCH_DIMENSIONS = 64

    def __init__(self, embedder: Embedder, phrasings: Sequence[Sequence[str]], summaries: Sequence[str]) -> None:
        self.embedder = embedder
        counts = np.array([len(texts) for texts in phrasings], dtype=np.int64)
        self._starts = np.concatenate(([0], np.cumsum(counts)))
        vectors = embedder.embed([text for texts in phrasings for text in texts])
        self._vectors = vectors
        self._summaries = embedder.embed(list(summaries))
        self._taught: dict[int, Vectors] = {}  # entry -> vectors of phrasings added after the build
        centroids = self._centroid_rows(vectors, counts)
        large = len(centroids) > self.PROJECT_ABOVE
        self._basis = _principal_axes(centroids, self.SEARCH_DIMENSIONS) if large else None
        self._centroids = centroids if self._basis is None else np.ascontiguousarray(centroids @ self._basis)

    def _centroid_rows(self, vectors: Vectors, counts: npt.NDArray[np.int64]) -> Vectors:
        sums = np.add.reduceat(vectors, self._starts[:-1], axis=0) if len(vectors) else vectors
        sums[counts == 0] = 0.0  # reduceat gives an empty slice the next row; an entry with no phrasing has none
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)

    def vector(self, text: str) -> Vectors:
        return self.embedder.embed([text])[0]

    def nearest(self, query: Vectors) -> list[int]:
        """The entries whose phrasings, on average, lie closest to the question."""
        similarity = self._centroids @ (query if self._basis is None else query @ self._basis)
        count = min(self.CENTROID_CANDIDATES, len(similarity))
        if count == 0:
            return []
        top = np.argpartition(-similarity, count - 1)[:count]
        return [int(index) for index in top]

    def scores(self, query: Vectors, entries: Iterable[int]) -> dict[int, float]:
        """Semantic score per entry: closest phrasing's cosine + SUMMARY_SHARE x the summary's.

        The candidates' phrasing rows are gathered into one block, so a question costs one
        matrix product whatever the number of candidates.
        """
        indexes = np.fromiter(entries, dtype=np.int64)
        if not len(indexes):
            return {}
        starts, ends = self._starts[indexes], self._starts[indexes + 1]
        counts = ends - starts
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        similarity = self._vectors[rows] @ query
        offsets = np.cumsum(counts) - counts
        best = np.where(counts > 0, np.maximum.reduceat(similarity, np.minimum(offsets, len(similarity) - 1)), 0.0)
        summaries = self._summaries[indexes] @ query
        result = {}
        for index, phrasing, summary in zip(indexes.tolist(), best.tolist(), summaries.tolist(), strict=True):
            if index in self._taught:
                phrasing = max(phrasing, float((self._taught[index] @ query).max()))
            result[index] = phrasing + self.SUMMARY_SHARE * summary
        return result

    def with_phrasings(self, added: Mapping[int, Sequence[str]]) -> SemanticIndex:
        """An index where each entry in ``added`` also has the given phrasings (copy-on-write)."""
        changed = copy.copy(self)
        changed._taught = dict(self._taught)
        for index, texts in added.items():
            if texts:
                fresh = self.embedder.embed(list(texts))
                old = changed._taught.get(index)
                changed._taught[index] = fresh if old is None else np.concatenate((old, fresh))
        return changed

    def __getstate__(self) -> dict[str, object]:
        """Arrays as raw bytes, so a snapshot needs no numpy classes (see ``snapshots._ALLOWED``)."""
        arrays = {
            "starts": self._starts,
            "vectors": self._vectors,
            "summaries": self._summaries,
            "centroids": self._centroids,
        }
        if self._basis is not None:
            arrays["basis"] = self._basis
        return {
            "embedder": self.embedder,
            "arrays": {name: (a.dtype.str, a.shape, a.tobytes()) for name, a in arrays.items()},
            "taught": {index: (v.shape, v.tobytes()) for index, v in self._taught.items()},
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.embedder = state["embedder"]
        arrays = {
            name: np.frombuffer(data, dtype=np.dtype(kind)).reshape(shape)
            for name, (kind, shape, data) in state["arrays"].items()
        }
        self._starts, self._vectors = arrays["starts"], arrays["vectors"]
        self._summaries, self._centroids = arrays["summaries"], arrays["centroids"]
        self._basis = arrays.get("basis")
        self._taught = {
            index: np.frombuffer(data, dtype=np.float32).reshape(shape)
            for index, (shape, data) in state["taught"].items()
        }
