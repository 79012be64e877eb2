"""The forum: a board of threads, each a post with replies, some replies nested under others.

A forum is the hard HTML case for a profile crawler: comments live two levels below the index,
a thread's pages come in floors (楼) with nested replies (楼中楼) inside them, dates are written
"2024年5月12日 10:31", and the way on is a "下一页" link. Which comment opens a thread and which
replies to which is dealt once over the whole schedule, so publishing more never moves a
comment, and a reply is always published after what it answers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from devkit.demosite.comments import CHINA_TZ, DemoComment
from devkit.demosite.pages import NotFound, document

FORUM_SEED = "yuqing-demo-forum-v1"
NEW_THREAD_SHARE = 0.08
NESTED_SHARE = 0.35
OPEN_THREADS = 4  # replies go to one of the most recently started threads
NEST_WINDOW = 3  # a nested reply answers one of its thread's latest replies: mostly same page
THREADS_PER_PAGE, FLOORS_PER_PAGE = 20, 10
TITLE_CHARS = 20
ANONYMOUS = "匿名用户"


@dataclass(frozen=True)
class Placement:
    """Where a comment sits: ``parent_id`` is None for a thread's post and its floors."""

    thread_id: str
    parent_id: str | None
    is_post: bool


def place(schedule: Sequence[DemoComment]) -> dict[str, Placement]:
    """Deal threads over comments in publish order: a post opens a thread, replies follow."""
    rng = random.Random(FORUM_SEED)
    placements: dict[str, Placement] = {}
    threads: list[tuple[str, list[str]]] = []  # (thread id, its reply ids in order)
    for comment in schedule:
        if not threads or rng.random() < NEW_THREAD_SHARE:
            thread_id = f"t{len(threads) + 1:04d}"
            threads.append((thread_id, []))
            placements[comment.native_id] = Placement(thread_id, None, is_post=True)
            continue
        thread_id, replies = rng.choice(threads[-OPEN_THREADS:])
        parent = None
        if replies and rng.random() < NESTED_SHARE:
            parent = rng.choice(replies[-NEST_WINDOW:])
        replies.append(comment.native_id)
        placements[comment.native_id] = Placement(thread_id, parent, is_post=False)
    return placements


@dataclass
class Thread:
    """A thread as published so far: its post, floors and nested replies, in publish order."""

    id: str
    post: DemoComment
    floors: list[DemoComment] = field(default_factory=list)
    children: dict[str, list[DemoComment]] = field(default_factory=dict)
    replies: int = 0
    last_activity: int = 0  # position in publish order of the thread's newest comment

    @property
    def title(self) -> str:
        text = self.post.text
        return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS] + "…"

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(len(self.floors) / FLOORS_PER_PAGE))


def threads(published: Sequence[DemoComment], placements: dict[str, Placement]
            ) -> list[Thread]:
    """Published forum comments gathered into threads, most recently active first."""
    found: dict[str, Thread] = {}
    for position, comment in enumerate(published):
        where = placements[comment.native_id]
        if where.is_post:
            found[where.thread_id] = Thread(where.thread_id, comment, last_activity=position)
            continue
        thread = found[where.thread_id]  # a reply is never published before its thread's post
        if where.parent_id is None:
            thread.floors.append(comment)
        else:
            thread.children.setdefault(where.parent_id, []).append(comment)
        thread.replies += 1
        thread.last_activity = position
    return sorted(found.values(), key=lambda t: t.last_activity, reverse=True)


def forum_date(at: datetime) -> str:
    """Dates as Chinese forums print them, to the minute and without a zone (Beijing time)."""
    at = at.astimezone(CHINA_TZ)
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"


def _pager(href: str, page: int, last: int) -> str:
    links = []
    if page > 1:
        links.append(f'<a class="prev" href="{href}{page - 1}">上一页</a>')
    if page < last:
        links.append(f'<a class="next" href="{href}{page + 1}">下一页</a>')
    return f'<div class="pager">第 {page}/{last} 页 {" ".join(links)}</div>'


def _meta(comment: DemoComment, floor: str = "") -> str:
    author = escape(comment.author or ANONYMOUS)
    floor_html = f' <span class="floor">{floor}</span>' if floor else ""
    return (f'<div class="meta"><span class="author">{author}</span> '
            f'<span class="date">{forum_date(comment.published_at)}</span>{floor_html}</div>')


def board_page(active_first: Sequence[Thread], page: int) -> str:
    """Page ``page`` (from 1) of the board: threads, most recently replied to first."""
    last = max(1, math.ceil(len(active_first) / THREADS_PER_PAGE))
    if not 1 <= page <= last:
        raise NotFound(f"the board has {last} pages, not page {page}")
    rows = "\n".join(
        f'<li class="thread" data-thread-id="{t.id}">'
        f'<a class="title" href="/forum/thread/{t.id}">{escape(t.title)}</a> '
        f'<span class="author">{escape(t.post.author or ANONYMOUS)}</span> '
        f'<span class="reply-count">回复 {t.replies}</span> '
        f'<span class="last-reply">{forum_date(_newest(t).published_at)}</span></li>'
        for t in active_first[(page - 1) * THREADS_PER_PAGE : page * THREADS_PER_PAGE]
    )
    body = (f'<h1>演示论坛</h1>\n<ul class="threads">\n{rows}\n</ul>\n'
            + _pager("/forum/?page=", page, last))
    return document(f"演示论坛 第{page}页", body)


def _newest(thread: Thread) -> DemoComment:
    everything = [thread.post, *thread.floors, *(c for cs in thread.children.values() for c in cs)]
    return max(everything, key=lambda c: c.published_at)


def _reply(comment: DemoComment, thread: Thread, floor: int | None,
           parent_id: str | None = None) -> str:
    nested = thread.children.get(comment.native_id, [])
    inner = "".join(_reply(child, thread, None, comment.native_id) for child in nested)
    parent = f' data-parent-id="{parent_id}"' if parent_id else ""
    return (
        f'<div class="reply" id="reply-{comment.native_id}" data-reply-id="{comment.native_id}"'
        f'{parent}>{_meta(comment, f"{floor}楼" if floor is not None else "")}'
        f'<div class="content">{escape(comment.text)}</div>'
        + (f'<div class="replies">{inner}</div>' if inner else "")
        + "</div>"
    )


def thread_page(thread: Thread, page: int) -> str:
    """Page ``page`` of a thread: the post on page 1 only, then floors with their nested
    replies, oldest first. A nested reply shows under its floor, so it can land on an earlier
    page than the thread's newest floor."""
    last = thread.last_page
    if not 1 <= page <= last:
        raise NotFound(f"thread {thread.id} has {last} pages, not page {page}")
    post = thread.post
    head = f'<h1 class="title">{escape(thread.title)}</h1>\n'
    if page == 1:
        head += (f'<div class="post" id="post-{post.native_id}" data-post-id="{post.native_id}">'
                 f'{_meta(post, "1楼")}<div class="content">{escape(post.text)}</div></div>\n')
    first = (page - 1) * FLOORS_PER_PAGE
    floors = "\n".join(
        _reply(comment, thread, floor)
        for floor, comment in enumerate(thread.floors[first : first + FLOORS_PER_PAGE],
                                        start=first + 2)
    )
    body = (head + f'<div class="replies">\n{floors}\n</div>\n'
            + _pager(f"/forum/thread/{thread.id}?page=", page, last))
    return document(f"{thread.title} - 演示论坛", body)
