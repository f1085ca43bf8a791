"""Scheduled jobs: functions a scheduler runs at a fixed interval (Celery beat,
``add_periodic_task``, APScheduler, cron-triggered actors) and the helpers only
they call run in the ``scheduled`` context, where SL101, SL106 and SL310 stay quiet
and the other scaling rules (SL104 here) still speak."""
from __future__ import annotations

from pathlib import Path

import libcst as cst
from helpers import rules_for

from scalelint.core.findings import Confidence
from scalelint.engine.config import Config
from scalelint.engine.runner import Runner, RunSettings
from scalelint.model.module import ModuleModel
from scalelint.model.schedules import scheduled_names

MODELS = '''
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)


class Order(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer)
'''

TASKS = MODELS + '''
import redis
from celery import shared_task

URL = "redis://localhost"


def _ping():
    redis.Redis.from_url(URL).ping()


@shared_task
def heartbeat():
    redis.Redis.from_url(URL).ping()
    _ping()


# nightly rebuilds the search index (a mention in its own module is no reference)
@shared_task
def nightly():
    redis.Redis.from_url(URL).ping()


@shared_task
def reindex():
    redis.Redis.from_url(URL).ping()


@shared_task
def periodic_cleanup():
    redis.Redis.from_url(URL).ping()


@shared_task
def send_report():
    redis.Redis.from_url(URL).ping()


@shared_task
def both():
    redis.Redis.from_url(URL).ping()


@shared_task
def refresh():
    redis.Redis.from_url(URL).ping()


@shared_task
def once():
    redis.Redis.from_url(URL).ping()


@shared_task
def totals():
    for user in User.query.all():
        Order.query.filter_by(user_id=user.id).first()


@shared_task
def audit():
    from django.core.cache import cache
    retries = cache.get("audit-retries", 0)
    cache.set("audit-retries", retries + 1, 3600)


@shared_task
def count_hit():
    from django.core.cache import cache
    hits = cache.get("hits", 0)
    cache.set("hits", hits + 1, 3600)


@shared_task
def user_totals():
    for user in User.query.all():
        Order.query.filter_by(user_id=user.id).first()
'''



SETTINGS = '''
from datetime import timedelta

CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "app.tasks.heartbeat", "schedule": timedelta(seconds=60)},
    "totals": {"task": "app.tasks.totals", "schedule": timedelta(hours=1)},
    "both": {"task": "app.tasks.both", "schedule": timedelta(hours=1)},
    "audit": {"task": "app.tasks.audit", "schedule": timedelta(minutes=10)},
}
'''

CELERY = '''
from celery import Celery
from celery.schedules import crontab

from app.tasks import nightly

app = Celery("app")


@app.on_after_configure.connect
def setup_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(crontab(hour=3), nightly.s())
'''

PYRAMID = '''
from celery.schedules import crontab

from app.tasks import reindex


def includeme(config):
    config.add_periodic_task(crontab(minute=0, hour=6), reindex)
'''

SCHEDULER = '''
from apscheduler.schedulers.background import BackgroundScheduler

from app import tasks

scheduler = BackgroundScheduler()
scheduler.add_job(tasks.refresh, "interval", minutes=5)
scheduler.add_job(tasks.once, "date", run_date="2030-01-01")
'''

VIEWS = '''
from app.tasks import both, send_report, user_totals


def report(request):
    send_report.delay()
    both.delay()
    user_totals.delay()
'''



def _line(job: str, offset: int = 1) -> int:
    """The line (in app/tasks.py) ``offset`` lines below ``def job():``."""
    return TASKS.lstrip("\n").splitlines().index(f"def {job}():") + 1 + offset


#: lines in TASKS of each job's client
PING, HEARTBEAT, NIGHTLY, REINDEX, CLEANUP, REPORT, BOTH, REFRESH, ONCE = (
    _line(job) for job in ("_ping", "heartbeat", "nightly", "reindex", "periodic_cleanup", "send_report", "both",
                           "refresh", "once"))
TOTALS_QUERY, USER_TOTALS_QUERY = _line("totals", 2), _line("user_totals", 2)
AUDIT_SET, HIT_SET = _line("audit", 3), _line("count_hit", 3)


def _write(root: Path, **files: str) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"))


def _project(root: Path) -> None:
    _write(root, **{
        "app/__init__.py": "", "app/tasks.py": TASKS, "app/settings.py": SETTINGS,
        "app/celery.py": CELERY, "app/search.py": PYRAMID, "app/scheduler.py": SCHEDULER, "app/views.py": VIEWS,
    })


def _findings(root: Path, *paths: str, cache: bool = False) -> dict[str, set[int]]:
    settings = RunSettings(paths=list(paths) or ["."], use_cache=cache, jobs=1)
    config = Config(root=root, root_is_project=True)
    config.min_confidence = "low"  # the jobs' clients are only pinged, once per task run: SL106 reports them low
    report = Runner(config, rules_for(), settings).run()
    assert not report.errors, report.errors
    out: dict[str, set[int]] = {}
    for f in report.findings:
        if f.path.endswith("tasks.py"):
            out.setdefault(f.code, set()).add(f.line)
    return out


def test_scheduled_jobs_and_their_helpers_create_one_client_per_run(project: Path) -> None:
    _project(project)
    found = _findings(project)
    # flagged look-alikes: a task named periodic_* with no schedule, a task only
    # .delay()ed from a view, a scheduled task also enqueued by a view, a one-off APScheduler job
    assert found["SL106"] == {CLEANUP, REPORT, BOTH, ONCE}


def test_scaling_rules_that_matter_in_scheduled_jobs_still_speak(project: Path) -> None:
    _project(project)
    assert TOTALS_QUERY in _findings(project)["SL104"]


def test_query_in_loop_in_a_scheduled_job_is_low_confidence(project: Path) -> None:
    _project(project)
    # one run at a time, off any request: SL104 says so at low confidence; the same
    # loop in a task a view enqueues, and in the job once nothing schedules it, stays high
    assert _confidences(project, "SL104") == {TOTALS_QUERY: Confidence.LOW, USER_TOTALS_QUERY: Confidence.HIGH}
    (project / "app" / "settings.py").unlink()
    assert _confidences(project, "SL104") == {TOTALS_QUERY: Confidence.HIGH, USER_TOTALS_QUERY: Confidence.HIGH}


def test_a_counter_only_a_scheduled_job_keeps_has_no_concurrent_writer(project: Path) -> None:
    _project(project)
    # one run at a time: get-then-set cannot lose an increment (a task per event still can)
    assert _findings(project)["SL310"] == {HIT_SET}


def test_without_a_schedule_the_jobs_are_request_code(project: Path) -> None:
    _project(project)
    for name in ("settings.py", "celery.py", "search.py", "scheduler.py"):
        (project / "app" / name).unlink()
    assert _findings(project)["SL106"] == {PING, HEARTBEAT, NIGHTLY, REINDEX, CLEANUP, REPORT, BOTH, REFRESH, ONCE}


def test_a_one_file_run_places_the_jobs_from_cached_facts(project: Path) -> None:
    _project(project)
    _findings(project, cache=True)
    assert _findings(project, "app/tasks.py", cache=True)["SL106"] == {CLEANUP, REPORT, BOTH, ONCE}


def test_configured_contexts_check_scheduled_jobs_too(project: Path) -> None:
    _project(project)
    config = Config(root=project, root_is_project=True, contexts={"scheduled": True})
    config.min_confidence = "low"  # pinged clients: low confidence
    report = Runner(config, rules_for(), RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    lines = {f.line for f in report.findings if f.code == "SL106" and f.path.endswith("tasks.py")}
    assert {PING, HEARTBEAT, NIGHTLY} <= lines


def _names(text: str, module: str = "app.jobs") -> list[str]:
    model = ModuleModel(cst.parse_module(text), path=module.replace(".", "/") + ".py", module_name=module)
    return scheduled_names(model, text)


def test_schedule_spellings() -> None:
    assert _names('''
from celery.decorators import periodic_task
from polar_worker import actor, CronTrigger
from app.scheduler import scheduler
import huey


@periodic_task(run_every=60)
def a(): ...


@actor(actor_name="b", cron_trigger=CronTrigger(minute=5))
def b(): ...


@scheduler.scheduled_job("interval", minutes=1)
def c(): ...


@actor(actor_name="d")
def d(): ...


app.conf.beat_schedule = {"e": {"task": "app.other.e", "schedule": 30}}
app.conf.update(beat_schedule={"f": {"task": "app.other.f"}})
CELERYBEAT_SCHEDULE["g"] = {"task": "app.other.g"}
DISPATCHER_SCHEDULE.update({"h": {"task": "app.other.h"}})
scheduler.add_job("app.other:i", trigger="cron", hour=1)
scheduler.add_job(d, CronTrigger(hour=1))
TASKS = {"x": {"task": "app.other.not_a_schedule"}}
queue.add_job(d)
''') == ["app.jobs.a", "app.jobs.b", "app.jobs.c", "app.other.e", "app.other.f", "app.other.g", "app.other.h",
         "app.other.i", "app.jobs.d"]


def test_statistics_count_the_findings_scheduled_jobs_drop(project: Path) -> None:
    _project(project)
    report = Runner(Config(root=project, root_is_project=True), rules_for(),
                    RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    assert report.context_dropped.get("scheduled") == 6  # PING, HEARTBEAT, NIGHTLY, REINDEX, REFRESH (SL106); AUDIT_SET (SL310)


def _confidences(root: Path, code: str) -> dict[int, Confidence]:
    """Line -> confidence of ``code``'s findings in app/tasks.py (a run at low confidence)."""
    config = Config(root=root, root_is_project=True)
    config.min_confidence = "low"
    report = Runner(config, rules_for(code), RunSettings(paths=["."], use_cache=False, jobs=1)).run()
    return {f.line: f.confidence for f in report.findings if f.code == code and f.path.endswith("tasks.py")}
