"""Sections of the patient chart contributed by each domain.

A domain registers a panel with @patient_panel(...); the chart page (patients/pages.py) shows the panels
the viewer's role may see, in order. Adding a section to the chart never means editing another domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tenfour.context import Ctx
from tenfour.patients.models import Patient
from tenfour.policy import Permission

PanelBuilder = Callable[[Session, Ctx, Patient], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    order: int
    permission: Permission
    build: PanelBuilder


STAFF_CHART_PANELS: list[Panel] = []
PATIENT_HOME_PANELS: list[Panel] = []


def _register(registry: list[Panel], key: str, template: str, order: int,
              permission: Permission) -> Callable[[PanelBuilder], PanelBuilder]:
    def decorator(build: PanelBuilder) -> PanelBuilder:
        registry[:] = [p for p in registry if p.key != key]
        registry.append(Panel(key, template, order, permission, build))
        registry.sort(key=lambda p: p.order)
        return build

    return decorator


def patient_panel(key: str, template: str, order: int, permission: Permission) -> Callable[[PanelBuilder],
                                                                                          PanelBuilder]:
    """A section of the staff chart of a patient."""
    return _register(STAFF_CHART_PANELS, key, template, order, permission)


def own_panel(key: str, template: str, order: int) -> Callable[[PanelBuilder], PanelBuilder]:
    """A section of the patient's own home page (/me)."""
    return _register(PATIENT_HOME_PANELS, key, template, order, Permission.SELF_READ)


def build_panels(registry: list[Panel], db: Session, ctx: Ctx, patient: Patient) -> list[tuple[Panel, dict]]:
    from tenfour import policy

    shown = []
    for panel in registry:
        if not policy.can(ctx.principal, panel.permission):
            continue
        data = panel.build(db, ctx, patient)
        if data is not None:
            shown.append((panel, data))
    return shown


# Treatment times drawn on score charts (infusions register theirs): (db, patient_id) -> aware datetimes.
TreatmentSource = Callable[[Session, int], list[Any]]
TREATMENT_SOURCES: list[TreatmentSource] = []


def treatment_source(source: TreatmentSource) -> TreatmentSource:
    if source not in TREATMENT_SOURCES:
        TREATMENT_SOURCES.append(source)
    return source


def treatment_times(db: Session, patient_id: int) -> list[Any]:
    return sorted(t for source in TREATMENT_SOURCES for t in source(db, patient_id))
