"""Addresses of the pages, built in one place (ids are quoted: task ids contain colons)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from api.pages.session import PREFIX


def site_url(initiative_id: str, site_id: str) -> str:
    return f"{PREFIX}/initiatives/{quote(initiative_id, safe='')}/sites/{quote(site_id, safe='')}"


def task_url(task_id: str) -> str:
    return f"{PREFIX}/tasks/{quote(task_id, safe='')}"


def board_url(initiative_id: str, **filters: str) -> str:
    """The board's page; with filters, its list of the sites they select."""
    query = urlencode({k: v for k, v in filters.items() if v})
    return f"{PREFIX}/board/{quote(initiative_id, safe='')}" + (f"?{query}#sites" if query else "")


def inbox_url(**query: str) -> str:
    given = urlencode({k: v for k, v in query.items() if v})
    return f"{PREFIX}/inbox" + (f"?{given}" if given else "")
