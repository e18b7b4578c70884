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
        """Unit vectors, one row per text; an empty text (or one of unknown tokens only) is the zero vector.

        Texts are tokenised one at a time: the tokenizer's batch call hands them to a thread pool
        whose per-thread heaps stayed resident (11 MB more after indexing the bundled knowledge
        base's 1,935 titles and questions) and was no faster on two cores (0.081 s against 0.073 s).
        """
        vectors = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.tokenizer.encode(text, add_special_tokens=False).ids
            if ids:
                vectors[row] = self.table[ids].mean(axis=0, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled by reference: a snapshot stores vectors, never the model, which is loaded again from the package."""
        return (_shared_embedder, ())


def _principal_axes(rows: Vectors, count: int) -> Vectors:
    """The ``count`` directions along which ``rows`` vary most (columns of a 256 x count matrix)."""
    _, _, axes = np.linalg.svd(rows - rows.mean(axis=0), full_matrices=False)
    return np.ascontiguousarray(axes[:count].T.astype(np.float32))


_SHARED: Embedder | None = None


def _centroids(vectors: Vectors, counts: npt.NDArray[np.int64]) -> Vectors:
    """Each entry's mean phrasing direction as a unit row (zero for an entry with no phrasing); ``vectors`` holds
    ``counts[i]`` consecutive rows for entry ``i``."""
    sums = np.zeros((len(counts), vectors.shape[1]), dtype=np.float32)
    filled = counts > 0
    if filled.any():  # reduceat sums from each start to the next: only entries that have rows may have a start
        sums[filled] = np.add.reduceat(vectors, (np.cumsum(counts) - counts)[filled], axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


def _shared_embedder() -> Embedder:
    """One model per process: every matcher (reloads, snapshots, tests) shares the same 16 MB table."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Embedder.load()
    return _SHARED


shared_embedder = _shared_embedder


class SemanticIndex:
    """Every entry's phrasings as unit vectors, plus one prototype per entry that says which entry a question is about.

    An entry's semantic score for a question is the cosine of its closest phrasing
    plus ``SUMMARY_SHARE`` x the cosine of its summary (a little of what the answer
    says helps where no phrasing is close). Phrasing vectors are kept in one float32
    matrix ordered by entry, so an entry's phrasings are one slice (float16 would halve
    the memory, but converting the candidates' rows for each question cost 0.14 ms
    against 0.02 ms for the product itself).

    The prototypes are a linear classifier over the same vectors: each entry gets a
    weight vector and a bias, trained (softmax regression) to tell its phrasings and
    summary from every other entry's. Nearest-phrasing cosine weighs every direction of
    the space alike; the classifier learns the few that set one entry apart from its
    neighbours. On the tuning sets it put the right entry first for 90% of in-scope
    questions, against 84% for the closest phrasing, and as two more signals for the
    decision it lifted out-of-fold answered-right from 80.0% to 84.1% at the same
    error rate. Training starts from the entries' centroids (the nearest-centroid rule)
    and runs for as many epochs as ``TRAINING_BUDGET`` allows: 100 epochs (1-2 s on 2 cores) for
    the bundled knowledge base, fewer from a few hundred entries, none (the centroids) from about
    850 entries of the bundled density. The calibration was fitted on the fully trained classifier.
    """

    SUMMARY_SHARE = 0.2
    # Entries found by meaning alone, beside those the question's words point to. 6 + 8 candidates answered
    # the tuning sets as well as 8 + 16 (out of fold: 80.0% against 79.6% right) with half the evidence to weigh.
    CENTROID_CANDIDATES = 8
    # Finding those entries reads every prototype for every question: 51 MB at 50,000 entries, about 5 ms
    # of memory traffic. Above this many entries the search runs on the prototypes' main 64 directions
    # (a quarter of the bytes); the candidates found are still scored on the full vectors.
    PROJECT_ABOVE = 5000
    SEARCH_DIMENSIONS = 64
    # The classifier (measured on the tuning sets, out of fold; within half a point for ridge 1e-3 to 3e-2,
    # scale 10 to 20, 60 to 150 epochs).
    SCALE = 10.0  # logit = SCALE x (prototype . question) + bias: cosines are small numbers
    RIDGE = 1e-2
    EPOCHS = 100
    LEARNING_RATE = 0.5
    MOMENTUM = 0.9
    TRAINING_BUDGET = 25_000_000  # training rows x entries x epochs: the bundled knowledge base's 100 epochs fit

    def __init__(self, embedder: Embedder, phrasings: Sequence[Sequence[str]], summaries: Sequence[str]) -> None:
        self.embedder = embedder
        counts = np.array([len(texts) for texts in phrasings], dtype=np.int64)
        self._starts = np.concatenate(([0], np.cumsum(counts)))
        vectors = embedder.embed([text for texts in phrasings for text in texts])
        self._vectors = vectors
        self._summaries = embedder.embed(list(summaries))
        self._taught: dict[int, Vectors] = {}  # entry -> vectors of phrasings added after the build
        self._basis: Vectors | None = None
        self._prototypes, self._bias = self._trained(vectors, counts, self._epochs(len(vectors)))
        if len(self._prototypes) > self.PROJECT_ABOVE:
            self._basis = _principal_axes(self._prototypes, self.SEARCH_DIMENSIONS)
        self._project()

    def _project(self) -> None:
        self._search = self._prototypes if self._basis is None else np.ascontiguousarray(self._prototypes @ self._basis)

    def _epochs(self, rows: int) -> int:
        return min(self.EPOCHS, self.TRAINING_BUDGET // max((rows + len(self._summaries)) * len(self._summaries), 1))

    def _trained(self, vectors: Vectors, counts: npt.NDArray[np.int64], epochs: int) -> tuple[Vectors, Vectors]:
        """Prototypes and biases: softmax regression on the phrasings and summaries, from the centroids, by
        gradient descent with momentum (plain numpy: no solver is worth a dependency for 80 x 256 weights)."""
        entries = len(counts)
        weights, bias = _centroids(vectors, counts), np.zeros(entries, dtype=np.float32)
        if epochs == 0 or entries == 0:  # too large to train: the centroids, without copying every phrasing vector
            return weights, bias
        rows = np.concatenate((vectors, self._summaries))
        labels = np.concatenate((np.repeat(np.arange(entries), counts), np.arange(entries)))
        step_weights, step_bias = np.zeros_like(weights), np.zeros_like(bias)
        for _ in range(epochs):
            logits = self.SCALE * (rows @ weights.T) + bias
            logits -= logits.max(axis=1, keepdims=True)
            error = np.exp(logits)
            error /= error.sum(axis=1, keepdims=True)
            error[np.arange(len(rows)), labels] -= 1.0  # softmax minus one-hot: the cross-entropy gradient
            gradient = self.SCALE * (error.T @ rows) / len(rows) + self.RIDGE * weights
            step_weights = self.MOMENTUM * step_weights - self.LEARNING_RATE * gradient
            step_bias = self.MOMENTUM * step_bias - self.LEARNING_RATE * error.mean(axis=0)
            weights += step_weights
            bias += step_bias
        return weights, bias

    def _phrasing_vectors(self, entry: int) -> Vectors:
        vectors = self._vectors[self._starts[entry] : self._starts[entry + 1]]
        taught = self._taught.get(entry)
        return vectors if taught is None else np.concatenate((vectors, taught))

    def _refit(self, touched: Iterable[int]) -> None:
        """The classifier again, as a build with the taught phrasings in the YAML would train it (taught phrasings
        count in the rows, not in the number of epochs). A knowledge base too large to train (the prototypes are
        the centroids) only recomputes the touched entries' centroids: milliseconds, where retraining the bundled
        one takes 1-2 s. The search directions above ``PROJECT_ABOVE`` entries stay those of the build."""
        if self._epochs(len(self._vectors)) == 0:  # the build kept the centroids: so does every teach after it
            self._prototypes = self._prototypes.copy()  # copy-on-write: the matcher this one came from keeps its own
            for entry in touched:
                vectors = self._phrasing_vectors(entry)
                self._prototypes[entry] = _centroids(vectors, np.array([len(vectors)]))[0]
        else:
            parts = [self._phrasing_vectors(entry) for entry in range(len(self._summaries))]
            counts = np.array([len(part) for part in parts], dtype=np.int64)
            vectors = np.concatenate(parts)
            self._prototypes, self._bias = self._trained(vectors, counts, self._epochs(len(self._vectors)))
        self._project()

    def vector(self, text: str) -> Vectors:
        return self.embedder.embed([text])[0]

    def nearest(self, query: Vectors) -> list[int]:
        """The entries the classifier finds most likely for the question."""
        similarity = self._search @ (query if self._basis is None else query @ self._basis) + self._bias / self.SCALE
        count = min(self.CENTROID_CANDIDATES, len(similarity))
        if count == 0:
            return []
        top = np.argpartition(-similarity, count - 1)[:count]
        return [int(index) for index in top]

    def shares(self, query: Vectors, entries: Iterable[int]) -> dict[int, float]:
        """The classifier's probability for each of ``entries``, among those entries only (a softmax over the
        candidates rather than the whole knowledge base, so the cost stays flat as it grows)."""
        indexes = np.fromiter(entries, dtype=np.int64)
        if not len(indexes):
            return {}
        logits = self.SCALE * (self._prototypes[indexes] @ query) + self._bias[indexes]
        odds = np.exp(logits - logits.max())
        return dict(zip(indexes.tolist(), (odds / odds.sum()).tolist(), strict=True))

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
        changed._refit(index for index, texts in added.items() if texts)
        return changed

    def __getstate__(self) -> dict[str, object]:
        """Arrays as raw bytes, so a snapshot needs no numpy classes (see ``snapshots._ALLOWED``)."""
        arrays = {
            "starts": self._starts,
            "vectors": self._vectors,
            "summaries": self._summaries,
            "prototypes": self._prototypes,
            "bias": self._bias,
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
        self._summaries, self._prototypes, self._bias = arrays["summaries"], arrays["prototypes"], arrays["bias"]
        self._basis = arrays.get("basis")
        self._project()
        self._taught = {
            index: np.frombuffer(data, dtype=np.float32).reshape(shape)
            for index, (shape, data) in state["taught"].items()
        }
