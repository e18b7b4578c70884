"""Matcher and answer service: the three outcomes, thresholds, pruning, reload, autocomplete."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import numpy as np
import pytest

from bot.knowledge.loader import KnowledgeError, load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.matching.matcher import (
    ASKS_FOR_SPECIFICS,
    Match,
    Matcher,
    Outcome,
    Scored,
    Thresholds,
    content_tokens,
    decide,
    last_question,
    stem,
)
from bot.service import MAX_QUESTION_CHARS, AnswerService, QuerySource


def test_confident_question_is_answered(tiny_service):
    answer = tiny_service.answer("if an ally gets attacked, must the others help?", source=QuerySource.CLI)
    assert answer.outcome is Outcome.ANSWERED and answer.answered
    assert answer.entry.id == "mutual-defence"
    assert answer.score >= tiny_service.matcher.thresholds.answer
    assert all(alt.score < answer.score for alt in answer.alternatives)


def test_two_entries_too_close_to_call_are_suggested(tiny_kb):
    # Both entries are about partners and not linked as related; neither is clearly ahead.
    service = AnswerService(tiny_kb, Thresholds(answer=25, suggest=10, margin=50))
    answer = service.answer("partners and the alliance", source=QuerySource.CLI)
    assert answer.outcome is Outcome.SUGGESTED and not answer.answered
    assert {e.id for e in answer.suggestions} == {"partner-exercises", "peace-partnership"}
    assert answer.entry == answer.suggestions[0]


@pytest.mark.parametrize("question", ["best pizza in town?", "what's the capital of Australia", "xkcd 927"])
def test_unrelated_question_is_unanswered(tiny_service, question):
    answer = tiny_service.answer(question, source=QuerySource.CLI)
    assert answer.outcome is Outcome.UNANSWERED
    assert answer.entry is None and answer.alternatives == ()


def test_typos_are_corrected_to_known_words(tiny_kb):
    matcher = Matcher(tiny_kb)
    assert matcher.query_tokens(matcher.normalize("mutal defense clausse")) == ["mutual", "defence", "clause"]
    assert matcher.match("mutal defense clausse").best.entry.id == "mutual-defence"
    assert matcher.query_tokens("round") == ["round"], "short words are never corrected"


def test_acronym_from_glossary_finds_its_entry(tiny_service):
    answer = tiny_service.answer("PfP?", source=QuerySource.CLI)
    assert answer.outcome is Outcome.ANSWERED and answer.entry.id == "peace-partnership"


def test_stemming_and_stopwords():
    assert stem("threats") == "threat" and stem("allies") == "ally" and stem("class") == "class"
    assert content_tokens("what is the role of the allies allies") == ["role", "ally"]


def test_a_related_runner_up_does_not_make_the_answer_unsure(tiny_kb):
    a, sibling, rival = tiny_kb.get("mutual-defence"), tiny_kb.get("founding-treaty"), tiny_kb.get("peace-partnership")
    limits = Thresholds(answer=70, suggest=40, margin=5)
    close_sibling = decide([Scored(a, 80), Scored(sibling, 78)], limits)
    assert close_sibling.outcome is Outcome.ANSWERED  # a neighbour, not a doubt
    assert close_sibling.ranked[1].entry is sibling  # still offered
    assert decide([Scored(a, 80), Scored(sibling, 78), Scored(rival, 77)], limits).outcome is Outcome.SUGGESTED


def test_decide_follows_the_thresholds(tiny_kb):
    a, b = tiny_kb.get("mutual-defence"), tiny_kb.get("peace-partnership")
    limits = Thresholds(answer=70, suggest=40, margin=5)
    assert decide([Scored(a, 80), Scored(b, 50)], limits).outcome is Outcome.ANSWERED
    assert decide([Scored(a, 80), Scored(b, 77)], limits).outcome is Outcome.SUGGESTED  # too close to call
    assert decide([Scored(a, 60)], limits).outcome is Outcome.SUGGESTED
    assert decide([Scored(a, 39.9)], limits).outcome is Outcome.UNANSWERED
    assert decide([], limits).outcome is Outcome.UNANSWERED
    assert decide([Scored(a, 80), Scored(b, 30)], limits).ranked == (Scored(a, 80),)  # implausible runner-up dropped


def test_thresholds_are_configurable(tiny_kb):
    strict = AnswerService(tiny_kb, Thresholds(answer=100, suggest=100, margin=0))
    answer = strict.answer("if an ally gets attacked, must the others help?", source=QuerySource.CLI)
    assert answer.outcome is Outcome.UNANSWERED
    with pytest.raises(ValueError):
        Thresholds(answer=40, suggest=60)


def test_scores_stay_within_0_and_100(tiny_service):
    for question in ["mutual defence clause", "mutual defence clause mutual defence", "partners", "zzz"]:
        answer = tiny_service.answer(question, source=QuerySource.CLI)
        assert 0 <= answer.score <= 100
        assert all(0 <= alt.score <= 100 for alt in answer.alternatives)


def test_candidate_pruning_keeps_the_best_entry(tiny_kb):
    full = Matcher(tiny_kb)
    pruned = Matcher(tiny_kb, scoring=dataclasses.replace(full.scoring, candidate_limit=1))
    question = "which treaty created the alliance"
    assert pruned.match(question).best == full.match(question).best


def test_extra_phrasings_count_like_yaml_ones(tiny_kb):
    question = "what keeps the members together in a crisis"
    plain = Matcher(tiny_kb)
    assert plain.match(question).outcome is Outcome.UNANSWERED
    taught = plain.with_phrasings({"mutual-defence": [question], "no-such-entry": ["ignored"]})
    assert taught.match(question).outcome is Outcome.ANSWERED
    assert taught.match(question).best.entry.id == "mutual-defence"
    assert plain.match(question).outcome is Outcome.UNANSWERED  # the original matcher is unchanged


def in_yaml(knowledge: KnowledgeBase, extra: dict[str, list[str]]) -> KnowledgeBase:
    """``knowledge`` as if ``extra`` had been written into the YAML, after each entry's last phrasing."""
    entries = {
        entry.id: dataclasses.replace(entry, keywords=(*entry.keywords, *extra.get(entry.id, ())))
        for entry in knowledge
    }
    return dataclasses.replace(knowledge, entries=entries)


def test_adding_phrasings_to_an_index_equals_building_it_with_them(bundled_kb):
    extra = {
        "article-5": ["is the hybrid hacking of a member an armed attack", "article five cyber"],
        "cyber-defence": ["gremlins in the network", "article five cyber"],  # one word new to the whole index
        "nuclear-deterrence": ["bombs"],
    }
    step_by_step = Matcher(bundled_kb)
    for entry_id, texts in extra.items():
        for text in texts:
            step_by_step = step_by_step.with_phrasings({entry_id: [text]})
    built = Matcher(in_yaml(bundled_kb, extra))
    assert step_by_step.phrasings == built.phrasings
    assert step_by_step._words.__dict__.keys() == built._words.__dict__.keys()
    for name, value in built._words.__dict__.items():
        assert getattr(step_by_step._words, name) == value, name
    for question in ("gremlins in the network", "article five cyber", "bombs", "what does article 5 say"):
        taught, yaml = step_by_step.match(question), built.match(question)
        assert taught.outcome is yaml.outcome
        assert [(s.entry.id, s.score) for s in taught.ranked] == [(s.entry.id, s.score) for s in yaml.ranked]


def test_empty_and_unreadable_questions_say_why(tiny_service):
    empty = tiny_service.answer("   ", source=QuerySource.CLI)
    assert empty.outcome is Outcome.UNANSWERED and empty.problem == "The question is empty."
    emoji = tiny_service.answer("🛡️🤔 <@123>", source=QuerySource.CLI)
    assert emoji.outcome is Outcome.UNANSWERED and "no words" in emoji.problem


def test_long_question_is_read_up_to_the_limit(tiny_service):
    question = "mutual defence clause " + "blah " * 5000
    answer = tiny_service.answer(question, source=QuerySource.CLI)
    assert answer.truncated and len(answer.query) == MAX_QUESTION_CHARS


def test_answer_json_contract(tiny_kb):
    service = AnswerService(tiny_kb, Thresholds(answer=25, suggest=10, margin=50))
    data = service.answer("partners and the alliance", source=QuerySource.CLI).as_dict()
    assert data["outcome"] == "suggested" and data["answered"] is False
    assert set(data["entry"]) >= {"id", "title", "summary", "related", "sources"}
    assert data["entry"]["id"] not in {alt["id"] for alt in data["alternatives"]}
    assert len(data["alternatives"]) <= 3


def test_reload_swaps_the_knowledge_base_and_reports_changes(kb_copy):
    service = AnswerService(load_knowledge(kb_copy))
    entries = kb_copy / "entries.yaml"
    text = entries.read_text(encoding="utf-8")
    text = text.replace("A test summary about the treaty", "An edited summary about the treaty")
    text = text.replace("id: partner-exercises", "id: joint-exercises")
    entries.write_text(text, encoding="utf-8")
    change = service.reload()
    assert change.added == ("joint-exercises",) and change.removed == ("partner-exercises",)
    assert change.edited == ("founding-treaty",)
    assert service.knowledge.get("joint-exercises") is not None
    assert service.answer("partner exercises", source=QuerySource.CLI).entry.id == "joint-exercises"


def test_failed_reload_keeps_serving_the_old_knowledge_base(kb_copy):
    service = AnswerService(load_knowledge(kb_copy))
    version = service.knowledge.version
    (kb_copy / "entries.yaml").write_text("entries:\n  - id: [broken\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        service.reload()
    assert service.knowledge.version == version
    assert service.answer("PfP", source=QuerySource.CLI).entry.id == "peace-partnership"


def test_autocomplete_matches_titles(tiny_kb):
    matcher = Matcher(tiny_kb)
    assert matcher.complete("partnr")[0].id == "peace-partnership"
    assert [e.id for e in matcher.complete("", limit=2)] == ["partner-exercises", "peace-partnership"]
    assert len(matcher.complete("the", limit=1)) == 1


def test_two_neighbouring_letters_swapped_are_put_back(tiny_kb):
    matcher = Matcher(tiny_kb)
    assert matcher.query_tokens("mutaul defecne cluase") == ["mutual", "defence", "clause"]
    assert matcher.match("tretay that created the alliance").best.entry.id == "founding-treaty"


@pytest.mark.parametrize(
    ("question", "answered_with"),
    [
        ("what legal status do troops have under a sofa", "sofa"),  # the rest of the question says "agreement"
        ("where can i buy a cheap sofa", None),  # furniture
        ("my sofa is broken", None),
    ],
)
def test_a_lowercase_acronym_is_read_as_one_only_when_the_question_says_so(bundled_kb, question, answered_with):
    match = Matcher(bundled_kb).match(question)
    answered = match.best.entry.id if match.outcome is Outcome.ANSWERED and match.best else None
    assert answered == answered_with


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("where is nato headquarters", True),
        ("what year was the treaty signed", True),
        ("who commanded the mission in afghanistan", True),
        ("where is nato deterrence heading", False),  # a direction, not a place
        ("what does article 5 say", False),
    ],
)
def test_questions_asking_for_figures_dates_places_or_names_are_recognised(question, asks):
    assert bool(ASKS_FOR_SPECIFICS.search(question)) is asks


def test_the_last_question_of_a_long_message_is_found():
    context = "I have been reading a lot about this for a seminar and my notes are a mess. " * 2
    assert last_question(context + "Who are you? What does Article 5 say?") == "What does Article 5 say?"
    assert last_question("what does article 5 say?") is None, "a short message is its own question"
    assert last_question(context + "no question mark here") is None


def test_a_long_message_is_answered_by_its_closing_question_when_that_one_is_clear(bundled_kb):
    matcher = Matcher(bundled_kb)
    context = (
        "Long story, but my study group spent the whole evening going in circles on this one, with "
        "people quoting half-remembered lectures and news clips, and nobody could settle it. "
    )

    def literal(text: str) -> Match:
        return decide(matcher.rank(text), matcher.thresholds)

    same_topic = context + "So can diplomatic immunity be waived?"
    assert (
        literal(same_topic).outcome is not Outcome.ANSWERED and literal(same_topic).best.entry.id == "immunity-limits"
    )
    assert matcher.match(same_topic).outcome is Outcome.ANSWERED, "the closing question settles the doubt"
    pulled_away = context + "So what is the NATO Response Force for?"
    assert literal(pulled_away).best.entry.id != "nato-response-force", "the context's words pull elsewhere"
    answered = matcher.match(pulled_away)
    assert answered.outcome is Outcome.ANSWERED and answered.best.entry.id == "nato-response-force"
    assert answered.best.score >= matcher.CLEAR_CLOSING
    vague = context + "So what do you all think?"
    assert literal(vague).best.entry is matcher.match(vague).best.entry, "an unsure closing question changes nothing"
    assert matcher.match(vague).outcome is not Outcome.ANSWERED


def test_a_sibling_that_came_close_is_the_first_related_topic_offered(bundled_kb):
    answer = AnswerService(bundled_kb).answer("nuclear deterrence and conventional forces", source=QuerySource.CLI)
    siblings = {"nuclear-deterrence", "conventional-deterrence"}
    assert answer.outcome is Outcome.ANSWERED and answer.entry.id in siblings
    [other] = siblings - {answer.entry.id}
    assert bundled_kb.get(answer.entry.id).related[0] != other  # not first in the YAML
    assert [s.entry.id for s in answer.alternatives][:1] == [other]
    assert answer.topic is not None and answer.topic.related[0].id == other


async def test_teaching_reindexes_in_a_worker_thread_and_concurrent_teaches_all_land(app, monkeypatch):
    """Re-indexing retrains the entry classifier (a second or two), so it must not run on the event loop; and two
    teaches and a reload at once must not lose each other's work."""
    threads: list[str] = []
    reindex = Matcher.with_phrasings

    def recorded(self: Matcher, extra):  # the real re-index, noting which thread ran it
        threads.append(threading.current_thread().name)
        return reindex(self, extra)

    monkeypatch.setattr(Matcher, "with_phrasings", recorded)
    service = app.service
    before = service.matcher
    prototypes = before._meaning._prototypes.copy()
    await asyncio.gather(
        service.teach("best pizza in town", "partner-exercises"),
        service.reload_in_turn(),  # a reload between them builds on the first teach and is built on by the second
        service.teach("weather in brussels", "founding-treaty"),
    )
    assert threads and threading.main_thread().name not in threads
    assert np.array_equal(before._meaning._prototypes, prototypes), "the matcher taught from is left as it was"
    for question, entry_id in (("best pizza in town", "partner-exercises"), ("weather in brussels", "founding-treaty")):
        answer = service.answer(question, source=QuerySource.CLI)
        assert answer.outcome is Outcome.ANSWERED and answer.entry.id == entry_id


def test_the_writers_own_words_are_read_apart_from_what_they_quote(bundled_kb):
    matcher = Matcher(bundled_kb)
    quoting = "> i thought nato was just about the cold war\nwhat is the nato response force for?"
    answered = matcher.match(quoting)
    assert answered.outcome is Outcome.ANSWERED and answered.best.entry.id == "nato-response-force"
    alone = matcher.match("> what is the nato response force for?\nthis ^")  # nothing but the quote to go on
    assert alone.best is not None and alone.best.entry.id == "nato-response-force"


def test_shortcodes_and_struck_out_words_are_not_read(bundled_kb):
    normalize = Matcher(bundled_kb).normalize
    assert normalize("~~cyber~~ nuclear deterrence :thinking:") == normalize("nuclear deterrence")
    assert normalize("article 5: what does it say") == normalize("article 5 what does it say"), "a colon is not one"
