"""The gap groups (reports.gap_groups) on a real query-log file and the bundled knowledge base."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app import open_app
from bot.querylog import reports
from bot.service import AnswerService, Asker, QuerySource
from tests.conftest import BUNDLED_KB, TINY_KB, app_settings
from tools.groups import labelled_questions, scores

KNOWLEDGE = BUNDLED_KB
# (question, asker, 👎): three wordings of one intent (the NATO Response Force), a question about one detail of it,
# and an out-of-scope question asked four times in two wordings.
NRF_ASKED = [
    ("what is the nrf", 1, True),
    ("what is the NRF?", 2, True),
    ("nato response force??", 3, True),
    ("nrf size", 4, True),
    ("best pizza in town", 5, False),
    ("whats the best pizza in town?", 6, False),
    ("best pizza in town", 5, False),
    ("best pizza in town", 7, False),
]
NRF_WORDINGS = {"what is the nrf", "what is the NRF?", "nato response force??"}


def ask_all(service: AnswerService, asked: list[tuple[str, int, bool]]) -> None:
    """Ask each question as its asker on Discord; 👎 the answer where marked."""
    for question, who, down in asked:
        answer = service.answer(question, source=QuerySource.SLASH, asker=Asker(who))
        if down:
            service.record_feedback(answer.query_id, who, "down")


async def test_one_group_per_intent_with_its_candidates_by_impact(tmp_path):
    async with open_app(app_settings(tmp_path, KNOWLEDGE)) as app:
        assert app.query_log is not None
        ask_all(app.service, NRF_ASKED)
        await app.query_log.flush()
        db, matcher = await app.query_log.connection(), app.service.matcher
        groups = await reports.gap_groups(db, matcher, days=30, limit=25)
        by_question = {q: g for g in groups for q in g.questions}
        nrf = by_question["what is the nrf"]
        assert set(nrf.questions) == NRF_WORDINGS and nrf.times == (1, 1, 1)
        assert nrf.topic == "nato-response-force" and nrf.candidates[0] == "nato-response-force"
        assert len(nrf.candidates) > 1, "the whole ranking, for the review menu"
        assert (nrf.count, nrf.askers, nrf.downvotes) == (3, 3, 3)
        assert by_question["nrf size"] is not nrf, "a question about one detail is its own group"
        pizza = by_question["best pizza in town"]
        assert pizza.question == "best pizza in town" and (pizza.count, pizza.askers, pizza.downvotes) == (4, 3, 0)
        assert pizza.questions == ("best pizza in town", "whats the best pizza in town?") and pizza.times == (3, 1)
        assert pizza.topic is None
        assert pizza.as_dict()["times"] == [3, 1] and pizza.as_dict()["questions"] == list(pizza.questions)
        assert [g.key for g in groups[:2]] == [nrf.key, by_question["nrf size"].key], "👎 first, then impact"
        assert groups[-1] is pizza
        for group in groups:
            assert re.fullmatch(r"g[0-9a-f]{16}", group.key) and group.last_asked[:4].isdigit()
            assert len(group.times) == len(group.questions) and sum(group.times) == group.count
        again = await reports.gap_groups(db, matcher, days=30, limit=1, exclude={nrf.key})
        assert [g.key for g in again] == [by_question["nrf size"].key]
        assert (await reports.gap_groups(db, matcher))[0].key == nrf.key, "the key is stable"
        assert await reports.gap_group(db, matcher, pizza.key) == pizza
        await app.service.dismiss("best pizza in town")
        assert pizza.key not in {g.key for g in await reports.gap_groups(db, matcher)}


async def test_groups_come_by_impact_downvoted_first_then_askers_times_count(tmp_path):
    """Without a 👎, a question asked 3 times by 2 people (6) comes before one asked 5 times by one (5), and one asked 7
    times from the command line (no asker logged) counts as one asker's (7)."""
    async with open_app(app_settings(tmp_path, TINY_KB)) as app:
        assert app.query_log is not None
        ask_all(app.service, [("best pizza in town", 1, False)] * 5)
        ask_all(app.service, [("what is the weather in brussels", who, False) for who in (2, 3, 2)])
        ask_all(app.service, [("PfP", 4, True)])
        for _ in range(7):
            app.service.answer("how do i bake bread", source=QuerySource.CLI)
        await app.query_log.flush()
        groups = await reports.gap_groups(await app.query_log.connection(), app.service.matcher)
    assert [(g.question, g.count, g.askers) for g in groups] == [
        ("PfP", 1, 1),
        ("how do i bake bread", 7, 0),
        ("what is the weather in brussels", 3, 2),
        ("best pizza in town", 5, 1),
    ]


def test_purity_and_completeness_are_what_they_say():
    label_of = {"a1": "a", "a2": "a", "b1": "b", "b2": "b"}
    assert scores([["a1", "a2"], ["b1", "b2"]], label_of) == (1.0, 1.0)
    assert scores([["a1", "a2", "b1", "b2"]], label_of) == (0.5, 1.0)
    assert scores([["a1"], ["a2"], ["b1"], ["b2"]], label_of) == (1.0, 0.5)


async def test_groups_on_a_labelled_log_keep_to_one_intent(tmp_path):
    """A small labelled log (the holdout set, five wordings of each question): groups stay pure."""
    from tools.groups import measure

    result = await measure([Path(__file__).parent / "data" / "questions_holdout.yaml"], KNOWLEDGE)
    purity, completeness = result["now"]["question"]
    assert purity >= 0.93 and completeness >= 0.85
    assert result["now"]["entry"][0] >= result["before"]["entry"][0]
    assert len(labelled_questions([Path(__file__).parent / "data" / "questions_holdout.yaml"])) > 800
