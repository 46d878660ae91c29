"""The progress report as a one-to-two page PDF (reportlab, like the discharge sheet): the scores over time as a chart
and a short table, what changed in plain words, the patient's warning signs, next steps, whom to call, and on every
page that it is never sent to an employer."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tenfour.reports.progress import MAX_ROWS, NEVER_SENT, ProgressReport, Purpose

CONTEXT_WORDS = {"intake": "intake", "checkin": "check-in", "ad_hoc": "extra", "pre_infusion": "before an infusion",
                 "after_first_infusion_24h": "24 h after the first infusion", "post_infusion": "after an infusion"}
INK, MUTED, ACCENT = colors.HexColor("#1d2430"), colors.HexColor("#4f5660"), colors.HexColor("#1f5fa8")


def _chart(report: ProgressReport, width: float) -> Drawing:
    """PCL-5 totals by day since the first score, with the response line and the provisional cutoff."""
    first = report.pcl5[0].at
    points = [((s.at - first).total_seconds() / 86400, s.total) for s in report.pcl5]
    height = 52 * mm
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 12 * mm, 8 * mm, width - 16 * mm, height - 14 * mm
    plot.data = [points]
    plot.lines[0].strokeColor = ACCENT
    plot.lines[0].strokeWidth = 1.6
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = max(7.0, points[-1][0])
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0, 80, 20
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    plot.xValueAxis.labelTextFormat = "%d"
    drawing.add(plot)

    def level(value: int, label: str, colour: Any, left: bool) -> None:
        y = plot.y + plot.height * value / 80
        drawing.add(Line(plot.x, y, plot.x + plot.width, y, strokeColor=colour, strokeWidth=0.7,
                         strokeDashArray=[3, 2]))
        # The two lines can be close: one label at each end of the plot.
        x, anchor = (plot.x + 2, "start") if left else (plot.x + plot.width - 2, "end")
        drawing.add(String(x, y + 2, label, fontSize=6.5, fillColor=colour, textAnchor=anchor))

    level(report.cutoff, f"{report.cutoff}: symptoms usually need care", colors.HexColor("#b3261e"), left=True)
    if report.response_limit is not None:
        level(report.response_limit, f"{report.response_limit}: response ({report.response_pct:g}% below start)",
              colors.HexColor("#2e7d32"), left=False)
    drawing.add(String(plot.x, 1.5 * mm, "days since your first score", fontSize=7, fillColor=MUTED))
    return drawing


def progress_pdf(report: ProgressReport) -> bytes:
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=10.5, leading=14, textColor=INK)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=MUTED)
    heading = ParagraphStyle("h", parent=styles["Heading2"], fontSize=13, spaceBefore=7, spaceAfter=3,
                             textColor=INK)
    notice = ParagraphStyle("notice", parent=body, fontSize=9.5, leading=12.5, backColor=colors.HexColor("#eef3fa"),
                            borderColor=ACCENT, borderWidth=0.8, borderPadding=5, spaceBefore=4, spaceAfter=6)
    patient, clinic = report.patient, report.clinic
    name = f"{patient.preferred_name or patient.first_name} {patient.last_name}"
    for_whom = ("for you" if report.purpose == Purpose.PATIENT else
                "for your own clinician, shared with your consent")
    story: list[Any] = [
        Paragraph(escape(clinic.name), styles["Title"]),
        Paragraph(f"Your progress report, {escape(for_whom)}", heading),
        Paragraph(f"<b>{escape(name)}</b> · {escape(report.local(report.generated_at, '%d %B %Y'))} · "
                  f"{report.infusions_given} infusion{'s' if report.infusions_given != 1 else ''} so far", body),
        Paragraph(escape(NEVER_SENT), notice),
    ]
    story += [Paragraph(escape(n), small) for n in report.notes]
    story.append(Paragraph("Your scores over time", heading))
    story.append(Paragraph(
        "The PCL-5 asks about 20 PTSD symptoms. Scores go from 0 to 80: <b>lower is better</b>. Around "
        f"{report.cutoff} and above, symptoms are usually at a level that needs care; a change of "
        f"{report.reliable_points} points or more is more than ordinary ups and downs.", body))
    if report.pcl5:
        story.append(_chart(report, 170 * mm))
        shown = report.pcl5[-MAX_ROWS:]
        rows = [["Date", "PCL-5", "When"]] + [[report.local(s.at), str(s.total), CONTEXT_WORDS.get(s.context,
                                                                                                    s.context)]
                                              for s in shown]
        table = Table(rows, colWidths=[40 * mm, 20 * mm, 70 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 9), ("FONTNAME", (0, 0), (-1, 0),
                                                                         "Helvetica-Bold"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#d5d9df")),
                                   ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
        story.append(table)
        if len(report.pcl5) > len(shown):
            story.append(Paragraph(f"The table shows your latest {len(shown)} of {len(report.pcl5)} scores; the "
                                   "chart shows them all.", small))
    story.append(Paragraph("What changed", heading))
    story += [Paragraph(escape(line), body) for line in report.changes]
    if report.other_measures:
        story += [Spacer(1, 2 * mm)] + [Paragraph(escape(line), body) for line in report.other_measures]
    if report.state_words:
        story += [Spacer(1, 2 * mm), Paragraph(escape(report.state_words), body)]
    story.append(Paragraph("Your warning signs", heading))
    if report.signs:
        story.append(Paragraph("The early signs you chose with your care team. Noticing them early is how a relapse "
                               "can be headed off.", body))
        for sign in report.signs:
            seen = (f" (showed up in {sign.endorsed} of {sign.asked} check-ins)" if sign.asked else "")
            story.append(Paragraph(f"• {escape(sign.label)}{escape(seen)}", body))
    else:
        story.append(Paragraph("You have not chosen your warning signs yet. Your care team will go through them "
                               "with you at a visit.", body))
    story.append(Paragraph("Next steps", heading))
    story += [Paragraph(f"• {escape(step)}", body) for step in report.next_steps]
    calls = [f"<b>{escape(clinic.name)}</b>: {escape(clinic.phone or 'see your appointment letter')}"] + [
        f"<b>{escape(line.name)}</b>: {escape(line.phone)}. {escape(line.how)}" for line in report.crisis_lines]
    story.append(KeepTogether([Paragraph("If things get bad", heading)] + [Paragraph(c, body) for c in calls]))
    buffer = io.BytesIO()

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(20 * mm, 10 * mm, "Private. Never sent to an employer, agency or referrer. "
                                            f"TenFour progress report, page {doc.page}.")
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=LETTER, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title="Progress report", author=clinic.name, creator="TenFour",
                            invariant=1)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
