"""SL301 ties a key family to an entity by what the cached value is built
from: a value read from the entity holds it; a remote API's response, fetched
with a row's id or through a client built with the row, does not."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import lint, lint_tree

MODELS = "class Team:\n    pass\n"

CLIENTS = '''import requests
from slack_sdk.web import WebClient


class ChatClient(WebClient):
    def channels(self, cursor=None):
        return self.conversations_list(cursor=cursor)


class Summary:
    def __init__(self, team):
        self.team = team

    def render(self):
        return {"name": self.team.name}
'''

TASKS = '''from django.core.cache import cache

from shop.clients import ChatClient, Summary
from shop.models import Team


def sync(team_id):
    team = Team.objects.get(pk=team_id)
    {body}
    cache.set(f"team_channels_{{team_id}}", value, timeout=3600)


def rename(team_id, name):
    team = Team.objects.get(pk=team_id)
    team.name = name
    team.save()
'''


def _tree(root: Path, body: str) -> Path:
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "models.py").write_text(MODELS, encoding="utf-8")
    (root / "shop" / "clients.py").write_text(CLIENTS, encoding="utf-8")
    (root / "shop" / "tasks.py").write_text(TASKS.format(body=body), encoding="utf-8")
    return root


@pytest.mark.parametrize(("body", "reported"), [
    # the value is a read of the entity: the key holds it
    ("value = [team.name]", True),
    # a project class that is not an API client, built with the row: its result is the row's data
    ("value = Summary(team).render()", True),
    # the value is a Slack API response, fetched through a project subclass of the SDK client
    ("value = ChatClient(team.token).channels()", False),
    ("client = ChatClient(team.token)\n    value = client.channels()", False),
])
def test_values_from_a_project_api_client_do_not_hold_the_row(tmp_path: Path, body: str, reported: bool) -> None:
    found = lint_tree(_tree(tmp_path, body), "SL301")
    assert bool(found) is reported, found
    if reported:
        assert '"team_channels_{}"' in found[0].message


HTTP = '''import requests
from django.core.cache import cache

from shop.models import Team


def remote_channels(team_id):
    team = Team.objects.get(pk=team_id)
    {body}
    cache.set(f"team_channels_{{team_id}}", value, timeout=3600)


def rename(team_id, name):
    team = Team.objects.get(pk=team_id)
    team.name = name
    team.save()
'''


@pytest.mark.parametrize(("body", "reported"), [
    ("value = Team.objects.filter(pk=team.pk).values()", True),
    ("value = requests.get(team.api_url).json()", False),
    ("session = requests.Session()\n    value = session.get(team.api_url, params={'id': team.pk})", False),
    # a Session merely created here (no request made with it) leaves the row's data in the value
    ("value = {'name': team.name, 'session': requests.Session()}", True),
])
def test_http_responses_keyed_by_a_row_do_not_hold_the_row(body: str, reported: bool) -> None:
    found = lint(HTTP.format(body=body), "SL301")
    assert bool(found) is reported, found
