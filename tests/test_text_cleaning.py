import pytest
from hypothesis import given
from hypothesis import strategies as st

from flaxline.text.cleaning import CleaningPolicy, clean_text, repair_mojibake_runs


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("GoogleÕ¢_ŠÎ_†¢s car", "Google's car"),  # multi-step corruption between letters: an apostrophe
        ("I don’¢_äŒ_Ü¢t know", "I don't know"),
        ("love it ’¢_äŒÅ–", "love it"),  # a corrupted quote or emoji at the edge: removed
        ("cars_—_.no thanks", "cars .no thanks"),
        ("cafÃ© au lait", "café au lait"),  # one-step mojibake: ftfy repairs it
        ("naïve résumé, café’s", "naïve résumé, café's"),  # real accents survive
        ("fish &amp; chips", "fish & chips"),
        ("I ❤️ it 😀", "I ❤️ it 😀"),
        ("  many \r\n spaces\t", "many spaces"),
    ],
)
def test_clean_text_repairs_or_replaces_corruption(raw, clean):
    assert clean_text(raw).text == clean


def test_corruption_is_counted():
    result = clean_text("GoogleÕ¢_ŠÎ_†¢s car ’¢_äŒÅ–")
    assert (result.mojibake_replaced, result.mojibake_repaired) == (2, 0)
    assert repair_mojibake_runs("plain text") == ("plain text", 0, 0)


def test_urls_mentions_and_hashtags_follow_the_policy():
    text = "@bob see https://t.co/x #great day"
    assert clean_text(text).text == "@user see URL great day"
    removed = CleaningPolicy(urls="remove", mentions="remove", hashtags="remove")
    assert clean_text(text, removed).text == "see day"
    kept = clean_text(text, CleaningPolicy(urls="keep", mentions="keep", hashtags="keep"))
    assert kept.text == text and (kept.urls, kept.mentions, kept.hashtags) == (1, 1, 1)


def test_an_email_address_is_not_a_mention():
    assert clean_text("mail me at a@b.com").text == "mail me at a@b.com"


@given(st.text())
def test_clean_text_never_raises_and_leaves_no_outer_whitespace(text):
    result = clean_text(text)
    assert result.text == result.text.strip()
    assert "  " not in result.text


def test_truncated_links_are_links():
    assert clean_text("read this http://t.co/ab http:/ and http").text == "read this URL URL and URL"
    assert clean_text("the httpd server").text == "the httpd server"
