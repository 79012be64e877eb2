"""Resume points: the first page of each paging chain that is not both parsed and acknowledged."""

from __future__ import annotations

import logging

import pytest

from crawlers.frontier import MAX_TRIES, Frontier, ResumePoint, points_to_resume

START = "https://example.com/api"


def _point(page: int) -> ResumePoint:
    return ResumePoint(f"{START}?page={page}", page, START)


def test_a_page_is_done_once_parsed_and_every_comment_on_it_acknowledged() -> None:
    frontier = Frontier()
    frontier.requested(START, _point(0))
    assert frontier.resume_points() == [_point(0)]  # requested, not parsed

    frontier.parsed(START, 0, {"a", "b"})
    frontier.requested(START, _point(1))
    frontier.confirmed("a")
    assert frontier.resume_points() == [_point(0)]  # "b" not acknowledged yet

    frontier.confirmed("b")
    assert frontier.resume_points() == [_point(1)]

    frontier.parsed(START, 1, set())  # nothing new on the last page, and no next one
    assert frontier.resume_points() == []


def test_a_later_page_done_first_does_not_move_the_point_past_an_earlier_one() -> None:
    frontier = Frontier()
    for page in (0, 1):
        frontier.requested(START, _point(page))
    frontier.parsed(START, 0, {"a"})
    frontier.parsed(START, 1, set())
    assert frontier.resume_points() == [_point(0)]


def test_a_comment_on_two_pages_settles_both_and_a_dropped_page_is_forgotten() -> None:
    frontier = Frontier()
    for page in (0, 1, 2):
        frontier.requested(START, _point(page))
    frontier.parsed(START, 0, {"a"})
    frontier.parsed(START, 1, {"a"})  # the listing shifted between the two pages
    frontier.dropped(START, 2)  # another chain reads that URL
    frontier.confirmed("a")
    assert frontier.resume_points() == []


def test_chains_have_their_own_points() -> None:
    frontier = Frontier()
    other = ResumePoint("https://example.com/b?page=3", 3, "https://example.com/b")
    frontier.requested(START, _point(0))
    frontier.requested("b, resumed", other)
    frontier.parsed(START, 0, set())
    assert frontier.resume_points() == [other]


def test_saved_points_count_a_try_skip_start_urls_and_give_up_after_max_tries(
        caplog: pytest.LogCaptureFixture) -> None:
    saved = [_point(0).to_json(),  # the crawl requests its start URLs anyway
             _point(4).to_json(),
             ResumePoint(f"{START}?page=9", 9, START, tries=MAX_TRIES).to_json()]
    with caplog.at_level(logging.WARNING):
        points = points_to_resume(saved, {START, _point(0).url}, "demo")
    assert points == [ResumePoint(_point(4).url, 4, START, tries=1)]
    assert "giving up https://example.com/api?page=9 after 3 crawls" in caplog.text


def test_a_first_page_s_newest_comment_counts_once_the_page_is_done() -> None:
    frontier = Frontier()
    frontier.requested(START, _point(0))
    frontier.parsed(START, 0, {"a"}, newest="1005")
    assert frontier.resume_points() == [_point(0)] and frontier.newest == {}
    frontier.confirmed("a")
    assert frontier.resume_points() == [] and frontier.newest == {START: "1005"}
