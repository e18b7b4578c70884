"""The semantic signal: the bundled embedding model, its index, and the calibrated decision that uses it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bot.matching.confidence import CALIBRATION, FEATURES, Evidence, fit
from bot.matching.matcher import Matcher, Thresholds
from bot.matching.semantic import SemanticIndex, shared_embedder
from tools.evaluate import TUNE_FILES, calibrate, load_sets

NO_NETWORK = textwrap.dedent(
    """
    import sys

    def refuse(event, args):
        if event.startswith(("socket.", "urllib.", "http.")) or event in {"socket.getaddrinfo", "socket.connect"}:
            raise RuntimeError(f"network access attempted: {event} {args!r}")

    sys.addaudithook(refuse)
    from bot.knowledge.loader import load_knowledge
    from bot.matching.matcher import Matcher

    matcher = Matcher(load_knowledge("tests/data/tiny_kb"))
    assert matcher.match("if an ally is invaded do the rest have to fight").best.entry.id == "mutual-defence"
    print("offline ok")
    """
)


def test_the_model_loads_and_answers_without_touching_the_network():
    """In a fresh interpreter, with every socket, urllib and http event refused by an audit hook."""
    result = subprocess.run([sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "offline ok"


def test_vectors_are_unit_length_and_closer_for_closer_meanings():
    vectors = shared_embedder().embed(
        ["nuclear weapons deter attacks", "atomic arms discourage aggression", "how to bake sourdough bread", ""]
    )
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any(), "an empty text is the zero vector, not NaN"
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_a_taught_phrasing_raises_its_entry_and_leaves_the_old_index_alone():
    index = SemanticIndex(shared_embedder(), [["mutual defence clause"], ["partner exercises"]], ["a", "b"])
    question = index.vector("sea robbers near the horn of africa")
    taught = index.with_phrasings({1: ["pirates off the coast of somalia"]})
    assert taught.scores(question, [1])[1] > index.scores(question, [1])[1] + 0.1
    assert index.scores(question, [1]) == SemanticIndex.scores(index, question, [1]), "copy-on-write"


def test_fit_learns_which_signal_separates_right_from_wrong():
    rng = np.random.default_rng(7)
    rows, labels = [], []
    for _ in range(400):
        values = dict(zip(FEATURES, rng.uniform(0, 1, len(FEATURES)), strict=True))
        rows.append(Evidence(**values))
        labels.append(values["semantic"] > 0.5)
    model = fit(rows, labels)
    assert model.weights[FEATURES.index("semantic")] > 3 * max(
        abs(w) for f, w in zip(FEATURES, model.weights, strict=True) if f != "semantic"
    )
    low, high = (Evidence(**{f: (v if f == "semantic" else 0.5) for f in FEATURES}) for v in (0.1, 0.9))
    assert model.probability(low) < 0.2 < 0.8 < model.probability(high)


def test_the_shipped_calibration_is_the_one_the_tuning_sets_give(bundled_kb):
    """Re-fits the decision model: fails when the knowledge base or the matcher changed and nobody re-calibrated."""
    calibration, thresholds, _ = calibrate(Matcher(bundled_kb), load_sets(TUNE_FILES))
    assert thresholds == Thresholds(), "the default thresholds are the chosen operating point"
    assert calibration.bias == pytest.approx(CALIBRATION.bias, abs=0.02), "run: python -m tools.evaluate --calibrate"
    assert calibration.weights == pytest.approx(CALIBRATION.weights, abs=0.02)


def test_a_large_index_searches_prototypes_in_fewer_dimensions_and_finds_the_same_entries(monkeypatch):
    groups = ["alliance deterrence posture", "cyber defence drills", "piracy off somalia"]
    phrasings = [[f"{groups[n % 3]} {n}"] for n in range(60)]
    full = SemanticIndex(shared_embedder(), phrasings, ["summary"] * 60)
    monkeypatch.setattr(SemanticIndex, "PROJECT_ABOVE", 10)
    monkeypatch.setattr(SemanticIndex, "SEARCH_DIMENSIONS", 8)
    projected = SemanticIndex(shared_embedder(), phrasings, ["summary"] * 60)
    assert projected._basis is not None and projected._search.shape == (60, 8)
    question = full.vector("warships chasing pirates near somalia")
    found, expected = projected.nearest(question), full.nearest(question)
    assert {n % 3 for n in found} == {n % 3 for n in expected} == {2}  # the piracy entries, in both


def test_texts_embedded_together_equal_texts_embedded_one_by_one():
    texts = [f"question number {n} about alliance deterrence" for n in range(7)] + ["", "nato"]
    alone = np.vstack([shared_embedder().embed([text]) for text in texts])
    assert np.array_equal(shared_embedder().embed(texts), alone)
    assert not alone[7].any() and alone[8].any()  # the empty text is the zero vector, a word is not
