"""The discharge sheet as a PDF (reportlab): what the patient takes home, with the earliest time they may return to
duty and drive in large type, in the clinic's time zone."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


def _local(value: datetime | None, tz: str, fmt: str = "%A %d %B %Y, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def discharge_pdf(context: dict[str, Any]) -> bytes:
    """One or two Letter pages: who, when, the return-to-duty and driving times, what was given, what to watch
    for and whom to call. ``context`` is ``board_pages.sheet_context``."""
    session, discharge, clinic, patient = (context["session"], context["discharge"], context["clinic"],
                                           context["patient"])
    dose, events, tz = context["dose"], context["adverse_events"], context["tz"]
    zone_name = _local(discharge.return_to_duty_at, tz, "%Z")
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=11, leading=15)
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=12, textColor=colors.HexColor("#4f5660"))
    big = ParagraphStyle("big", parent=body, fontSize=18, leading=24, fontName="Helvetica-Bold")
    heading = ParagraphStyle("h", parent=styles["Heading2"], fontSize=13, spaceBefore=8, spaceAfter=4)
    story: list[Any] = [
        Paragraph(escape(clinic.name), styles["Title"]),
        Paragraph(f"Discharge after your ketamine infusion{' (synthetic demo record)' if patient.is_synthetic else ''}",
                  heading),
        Paragraph(f"<b>{escape(patient.first_name)} {escape(patient.last_name)}</b> · record "
                  f"{escape(patient.record_number)} · born {patient.date_of_birth:%d %b %Y}", body),
        Spacer(1, 4 * mm),
    ]
    back = Table([[Paragraph("No duty shift before", body),
                   Paragraph(escape(_local(discharge.return_to_duty_at, tz)), big)],
                  [Paragraph("No driving before", body),
                   Paragraph(escape(_local(discharge.return_to_driving_at, tz)), big)]],
                 colWidths=[45 * mm, 125 * mm])
    back.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 2, colors.HexColor("#b3261e")),
                              ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdecea")),
                              ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 6),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    story += [back, Paragraph(
        f"Times are {escape(zone_name)} ({escape(tz)}). These are {discharge.no_duty_window_h} hours after your "
        "infusion ended: ketamine can slow your reactions and judgement for a day (Ketalar prescribing information: "
        "no driving or hazardous work for 24 hours). Do not drive, operate machinery, carry a firearm or go on "
        "shift before then.", small), Spacer(1, 3 * mm)]
    facts = [["Infusion", f"{_local(session.infusion_started_at, tz, '%d %b %H:%M')} to "
                          f"{_local(session.infusion_ended_at, tz, '%H:%M')}"
                          + (" (stopped early)" if session.stopped_early else "")],
             ["Discharged", _local(discharge.discharged_at, tz, "%d %b %H:%M")
              + (f", with {discharge.escort_name}" if discharge.escort_name else "")]]
    if dose is not None:
        facts.append(["Ketamine", f"{dose.dose_mg} mg IV ({dose.dose_mg_per_kg} mg/kg) over {dose.duration_min} min"])
    for event in events:
        facts.append(["Side effect", f"{event.event_type.replace('_', ' ')} ({event.severity}): {event.outcome}"])
    table = Table([[Paragraph(f"<b>{escape(a)}</b>", body), Paragraph(escape(b), body)] for a, b in facts],
                  colWidths=[35 * mm, 135 * mm])
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.HexColor("#d5d9df")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, Paragraph("For the rest of today", heading)]
    for line in ("Go home with the adult who came for you, and rest.",
                 "Eat something light when you feel hungry. Avoid alcohol and sleeping pills today.",
                 "Some dizziness, dream-like feelings or nausea can last a few hours. That is expected.",
                 "Call the clinic if anything worries you: feeling confused, a racing heart, chest pain, or "
                 "thoughts that scare you."):
        story.append(Paragraph(f"• {escape(line)}", body))
    if discharge.instructions:
        story += [Paragraph("From your nurse", heading), Paragraph(escape(discharge.instructions), body)]
    calls = [f"{escape(clinic.name)}: {escape(clinic.phone or '')}"] + [
        f"{escape(line.name)}: {escape(line.phone)} ({escape(line.how)})" for line in context["crisis_lines"]]
    story.append(KeepTogether([Paragraph("Whom to call", heading)] + [Paragraph(c, body) for c in calls]))
    discharged_by = context["names"].get(discharge.discharged_by_id or 0, "")
    story += [Spacer(1, 4 * mm), Paragraph(f"Discharged by {escape(discharged_by)}. Session {session.id}.", small)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=LETTER, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title="Discharge sheet", author=clinic.name,
                            creator="TenFour", invariant=1)
    doc.build(story)
    return buffer.getvalue()
