"""An urgent alert nobody acknowledges within the clinic's limit (alerts.urgent_ack_limit_min, default 15) is emailed to
the on-call list at the limit exactly — once; an acknowledged one, or a watch, never is."""

from __future__ import annotations

from datetime import timedelta

from tests.checkins_support import ctx_for

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, Severity
from tenfour.checkins import sweep
from tenfour.clinics.models import ClinicPolicyValue

ON_CALL = "oncall.one@north.example, oncall.two@north.example"


def _urgent(db, world, severity: Severity = Severity.URGENT) -> Alert:  # type: ignore[no-untyped-def]
    alert = alerts.raise_alert(db, ctx_for(world.user("nurse")), clinic_id=world.north.id,
                               patient_id=world.patient_north.id, severity=severity, kind="suicidal_ideation",
                               title="PHQ-9 item 9 answered above 0", reasons=[])
    world.north.on_call_emails = ON_CALL
    db.commit()
    return alert


def _escalations(mailbox) -> list:  # type: ignore[no-untyped-def]
    return [m for m in mailbox.messages if m["Subject"] == alerts.ESCALATION_SUBJECT]


def test_escalated_at_the_limit_not_a_second_before_and_only_once(db, world, session_factory, settings,
                                                                  mailbox) -> None:
    alert = _urgent(db, world)
    before = sweep.run(session_factory, settings, now=alert.created_at + timedelta(minutes=15) - timedelta(seconds=1),
                       full=False, trigger="test")
    assert before.counts["escalated"] == 0 and _escalations(mailbox) == []
    at = alert.created_at + timedelta(minutes=15)
    assert sweep.run(session_factory, settings, now=at, full=False, trigger="test").counts["escalated"] == 1
    db.expire_all()
    assert db.get(Alert, alert.id).escalated_at == at
    sent = _escalations(mailbox)
    assert sorted(str(m["To"]) for m in sent) == ["oncall.one@north.example", "oncall.two@north.example"]
    body = mailbox.body(sent[0])
    assert "http://testserver/alerts?status=unacknowledged&severity=urgent" in body
    assert world.patient_north.record_number not in body and "Nora" not in body and "PHQ" not in body  # who, why: no
    later = sweep.run(session_factory, settings, now=at + timedelta(hours=1), full=False, trigger="test")
    assert later.counts["escalated"] == 0 and len(_escalations(mailbox)) == 2


def test_the_limit_is_the_clinics_policy(db, world, session_factory, settings, mailbox) -> None:
    db.add(ClinicPolicyValue(clinic_id=world.north.id, key="alerts.urgent_ack_limit_min", value=5))
    alert = _urgent(db, world)
    assert sweep.run(session_factory, settings, now=alert.created_at + timedelta(minutes=4, seconds=59), full=False,
                     trigger="test").counts["escalated"] == 0
    assert sweep.run(session_factory, settings, now=alert.created_at + timedelta(minutes=5), full=False,
                     trigger="test").counts["escalated"] == 1


def test_an_acknowledged_alert_or_a_watch_is_never_escalated(db, world, session_factory, settings, mailbox) -> None:
    acknowledged = _urgent(db, world)
    alerts.acknowledge(db, ctx_for(world.user("nurse")), acknowledged.id)
    _urgent(db, world, Severity.WATCH)
    db.commit()
    summary = sweep.run(session_factory, settings, now=acknowledged.created_at + timedelta(hours=2), full=False,
                        trigger="test")
    assert summary.counts["escalated"] == 0 and _escalations(mailbox) == []


def test_without_an_on_call_list_the_escalation_is_still_recorded(db, world, session_factory, settings,
                                                                  mailbox) -> None:
    alert = _urgent(db, world)
    world.north.on_call_emails = None
    db.commit()
    assert sweep.run(session_factory, settings, now=alert.created_at + timedelta(minutes=20), full=False,
                     trigger="test").counts["escalated"] == 1
    assert _escalations(mailbox) == []
    db.expire_all()
    assert db.get(Alert, alert.id).escalated_at is not None  # the inbox says nobody could be emailed
