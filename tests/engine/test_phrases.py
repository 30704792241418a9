"""Reply matching and word counting follow the spec's normalisation rules exactly."""

from __future__ import annotations

import unicodedata

import pytest

from app.engine import phrases
from app.engine.phrases import count_chars, count_words, fold, phrase_words, primary_language, words
from app.engine.play import Action, ActionRefused, Playthrough


def phrase_matches(phrase: str, reply: str, language: str = "en") -> bool:
    """Does `phrase` match `reply` the way look_for / avoid groups match?"""
    return phrases.matches(phrase_words(phrase, language), words(reply, language))


# -- the spec's own examples -----------------------------------------------------------------


def test_spec_example_turkish_capitals_match_lower_case() -> None:
    assert phrase_matches("iade", "İADE EDERİM", "tr")


def test_spec_example_star_matches_a_word_it_begins() -> None:
    assert phrase_matches("iade*", "iadenizi yapacağım", "tr")
    assert phrase_matches("iade*", "İADENİZİ yapacağım", "tr")
    assert phrase_matches("iade*", "iade", "tr")  # the empty rest is a beginning too
    assert not phrase_matches("iade*", "kiade", "tr")


def test_spec_example_i_can_does_not_match_i_cant() -> None:
    assert not phrase_matches("I can", "I can't do that")
    assert not phrase_matches("I can", "I can’t do that")
    assert phrase_matches("I can", "Well, I CAN do that")


# -- case folding by language ----------------------------------------------------------------


def test_turkish_folds_dotless_capital_i_to_dotless_i() -> None:
    assert fold("IŞIK", "tr") == "ışık"
    assert fold("İSTANBUL", "tr") == "istanbul"


def test_other_languages_use_plain_casefold() -> None:
    assert fold("IŞIK", "en") == "IŞIK".casefold() == "işik"
    # casefold keeps the dot of İ as a combining mark, so in English İADE is not iade
    assert fold("İADE", "en") == "İADE".casefold() == "i\u0307ade"
    assert not phrase_matches("iade", "İADE", "en")
    assert fold("Straße", "de") == "strasse"


@pytest.mark.parametrize("language", ["tr", "az", "tr-TR", "TR", "az-Latn-AZ", "tr_TR"])
def test_turkic_folding_goes_by_the_primary_subtag(language: str) -> None:
    assert fold("IRAK", language) == "ırak"
    assert phrase_matches("ırak", "IRAK", language)
    assert not phrase_matches("irak", "IRAK", language)


@pytest.mark.parametrize("language", ["en", "en-GB", "fa", "de", "trk", "az2"])
def test_non_turkic_languages_fold_i_to_i(language: str) -> None:
    assert fold("IRAK", language) == "irak"


def test_the_same_phrase_and_reply_in_different_turkish_spellings() -> None:
    assert phrase_matches("IŞIK", "ışık yanıyor", "tr")
    assert phrase_matches("ışık", "IŞIK YANIYOR", "tr")
    assert not phrase_matches("işik", "IŞIK", "tr")


def test_a_decomposed_turkish_capital_dotted_i_folds_like_the_composed_one() -> None:
    assert fold("I\u0307ADE", "tr") == "iade"
    assert phrase_matches("iade", "I\u0307ADE", "tr")


def test_primary_language() -> None:
    assert primary_language("tr-TR") == "tr"
    assert primary_language("AZ") == "az"
    assert primary_language("fa") == "fa"


# -- letter forms and invisible characters ---------------------------------------------------


def test_arabic_yeh_forms_and_kaf_fold_to_persian_letters() -> None:
    assert fold("ي") == fold("ى") == "ی"
    assert fold("ك") == "ک"
    assert fold("كتاب", "fa") == "کتاب"
    assert phrase_matches("کتاب", "این كتاب خوب است", "fa")
    assert phrase_matches("كتاب", "این کتاب خوب است", "fa")
    assert phrase_matches("مي", "مى", "ar")


def test_zero_width_non_joiner_is_removed() -> None:
    assert fold("می\u200cخواهم", "fa") == "میخواهم"
    assert phrase_matches("میخواهم", "من می\u200cخواهم", "fa")
    assert phrase_matches("می\u200cخواهم", "من میخواهم", "fa")
    assert words("می\u200cخواهم", "fa") == ("میخواهم",)


def test_tatweel_is_removed() -> None:
    assert fold("كـــتاب", "fa") == "کتاب"
    assert phrase_matches("کتاب", "كـــتاب", "fa")


def test_typographic_apostrophe_reads_as_ascii_apostrophe() -> None:
    assert fold("can’t") == "can't"
    assert words("I can’t") == ("i", "can't")
    assert phrase_matches("can’t", "I can't")
    assert phrase_matches("can't", "I can’t")


def test_nfc_makes_decomposed_and_composed_letters_equal() -> None:
    decomposed = "cafe\u0301"
    composed = "caf\u00e9"
    assert decomposed != composed
    assert fold(decomposed) == fold(composed) == composed
    assert phrase_matches(decomposed, f"un {composed} noir", "fr")
    assert phrase_matches(composed, f"un {decomposed} noir", "fr")


def test_folding_is_idempotent_and_leaves_nfc() -> None:
    for text in ["İADE", "IŞIK", "Straße", "cafe\u0301", "كـتاب\u200c", "can’t", "ǅ"]:
        for language in ("en", "tr", "fa"):
            once = fold(text, language)
            assert fold(once, language) == once
            assert unicodedata.is_normalized("NFC", once)


# -- words -----------------------------------------------------------------------------------


def test_words_split_on_hyphen_and_underscore() -> None:
    assert words("follow-up snake_case") == ("follow", "up", "snake", "case")
    assert phrase_matches("follow up", "a follow-up call")
    assert phrase_matches("follow-up", "we follow up tomorrow")
    assert phrase_matches("snake case", "snake_case")


def test_words_are_runs_of_letters_digits_marks_and_apostrophes() -> None:
    assert words("Order #12345, ETA: 3 days!") == ("order", "12345", "eta", "3", "days")
    assert words("it's o'clock") == ("it's", "o'clock")
    assert words("नमस्ते") == ("नमस्ते",)  # combining vowel signs stay in the word
    assert words("٣ أيام") == ("٣", "أیام")  # Arabic-Indic digits are digits
    assert words("a.b/c\\d(e)f") == ("a", "b", "c", "d", "e", "f")
    assert words("...  ---  ___") == ()


def test_phrase_words_keep_a_trailing_star_only() -> None:
    assert phrase_words("iade*") == ("iade*",)
    assert phrase_words("İADE* EDERİM", "tr") == ("iade*", "ederim")
    assert phrase_words("*") == ()
    assert phrase_words("*iade") == ("iade",)


def test_a_phrase_matches_consecutive_words_only() -> None:
    assert phrase_matches("I will", "Yes, I will call you")
    assert not phrase_matches("I will", "I really will call you")
    assert not phrase_matches("will I", "I will")
    assert phrase_matches("will", "WILL")
    assert not phrase_matches("will", "willing")


def test_an_empty_phrase_never_matches() -> None:
    assert not phrases.matches((), words("anything at all"))
    assert not phrase_matches("!!!", "!!!")


def test_a_phrase_longer_than_the_reply_does_not_match() -> None:
    assert not phrase_matches("one two three", "one two")


# -- counting for min_words / max_chars ------------------------------------------------------


def test_min_words_counts_words_as_defined() -> None:
    assert count_words("I can't help—sorry") == 4
    assert count_words("follow-up") == 2
    assert count_words("   ") == 0
    assert count_words("?!") == 0
    assert count_words("İADE EDERİM", "tr") == 2
    assert count_words("می\u200cخواهم بخوانم", "fa") == 2


def test_max_chars_counts_code_points_after_nfc() -> None:
    assert count_chars("cafe\u0301") == 4
    assert count_chars("caf\u00e9") == 4
    assert count_chars("😀") == 1
    assert count_chars("a\u200cb") == 3  # NFC keeps the ZWNJ; only matching drops it
    assert count_chars("") == 0


# -- the same rules in a played scenario -----------------------------------------------------


TR_SCENARIO = """\
id: iade
title: İade
language: tr
nodes:
  ask:
    reply:
      prompt: Ne yaparsınız?
      min_words: 2
      max_chars: 16
      points: 1
      look_for:
        - {phrases: ["iade"], points: 5, feedback: İyi.}
        - {phrases: ["hemen*"], points: 3}
      avoid:
        - {phrases: ["yapamam"], points: -4}
      goto: done
  done: {ending: success}
"""


def test_a_turkish_reply_is_matched_in_the_played_scenario(make_scenario) -> None:  # type: ignore[no-untyped-def]
    playthrough = Playthrough(make_scenario(TR_SCENARIO))
    step = playthrough.apply(Action.parse("reply:İADE EDERİM"))
    assert step.points == 1 + 5
    assert step.matched == ("iade",)
    assert step.feedback == ("İyi.",)
    assert playthrough.outcome == "passed"


def test_a_star_phrase_and_an_avoid_group_in_play(make_scenario) -> None:  # type: ignore[no-untyped-def]
    playthrough = Playthrough(make_scenario(TR_SCENARIO))
    step = playthrough.apply(Action.parse("reply:HEMENCİK YAPAMAM"))
    assert step.points == 1 + 3 - 4
    assert step.avoided == ("yapamam",)


def test_min_words_refuses_a_short_reply_and_changes_nothing(make_scenario) -> None:  # type: ignore[no-untyped-def]
    playthrough = Playthrough(make_scenario(TR_SCENARIO))
    with pytest.raises(ActionRefused) as caught:
        playthrough.apply(Action.parse("reply:iade-"))
    assert "1 words" in str(caught.value) and "at least 2" in str(caught.value)
    assert playthrough.steps == [] and playthrough.raw_points == 0 and not playthrough.finished


def test_max_chars_counts_after_nfc_in_play(make_scenario) -> None:  # type: ignore[no-untyped-def]
    playthrough = Playthrough(make_scenario(TR_SCENARIO))
    # 16 code points after NFC although 17 before it
    reply = "iade ederim tame\u0301"
    assert len(reply) == 17 and count_chars(reply) == 16
    playthrough.apply(Action.parse("reply:" + reply))
    assert playthrough.finished
    longer = Playthrough(make_scenario(TR_SCENARIO))
    with pytest.raises(ActionRefused):
        longer.apply(Action.parse("reply:iade ederim tamam"))
    assert longer.steps == []
