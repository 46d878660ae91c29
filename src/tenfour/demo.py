"""A realistic, clearly synthetic demo: two clinics, staff of every role, first responders across agencies.

Every person here is invented. Every record carries is_synthetic=True and the pages mark it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from tenfour.accounts import passwords
from tenfour.accounts.models import ClinicMembership, Role, User
from tenfour.audit.service import Actor
from tenfour.clinics import service as clinics
from tenfour.clinics.models import WEEKDAYS, Clinic
from tenfour.patients.models import Patient, PatientConsent, PatientStatus, ResponderRole

DEMO_PASSWORD = "tenfour-demo-2026"  # noqa: S105 - printed on purpose; demo data only
# The one demo account with two-step sign-in: add this key to an authenticator app (or run `oathtool --totp -b KEY`).
DEMO_TOTP_SECRET = "TENFOURDEMOTOTPKEYFORTHEDEMOMFAA"  # noqa: S105 - printed on purpose; demo data only
SEED = 1004
ACTOR = Actor.system("demo-seed")


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    name: str
    clinics: str  # slugs, comma-separated
    totp_secret: str | None = None  # set: the account has two-step sign-in (DEMO_TOTP_SECRET)


LOGINS: tuple[Login, ...] = (
    Login("admin", "admin@tenfour.example", "Avery Admin", "north,bayside"),
    Login("prescriber", "dr.reyes@north.tenfour.example", "Dr. Maya Reyes", "north"),
    Login("nurse", "nurse.kim@north.tenfour.example", "Jordan Kim, RN", "north"),
    Login("coordinator", "coord.patel@north.tenfour.example", "Priya Patel", "north"),
    Login("manager", "manager.obrien@north.tenfour.example", "Sean O'Brien", "north"),
    Login("prescriber", "dr.nguyen@bayside.tenfour.example", "Dr. Linh Nguyen", "bayside"),
    Login("nurse", "nurse.garcia@bayside.tenfour.example", "Rosa Garcia, RN", "bayside"),
    Login("coordinator", "coord.james@bayside.tenfour.example", "Tasha James", "bayside"),
    Login("manager", "manager.berg@bayside.tenfour.example", "Erik Berg", "bayside"),
    Login("patient", "patient.demo@tenfour.example", "Marcus Hale (patient)", "north"),
    # Shows two-step sign-in; every other demo account signs in with the password alone.
    Login("admin", "admin.mfa@tenfour.example", "Morgan Shaw (two-step sign-in)", "north",
          totp_secret=DEMO_TOTP_SECRET),
)

FIRST_NAMES = ["Marcus", "Dana", "Luis", "Kendra", "Tyler", "Aisha", "Brian", "Megan", "Carlos", "Jasmine", "Derek",
               "Holly", "Andre", "Natalie", "Victor", "Shawna", "Grant", "Leah", "Omar", "Tessa", "Wade", "Brooke",
               "Mateo", "Renee", "Curtis", "Ivy", "Hector", "Paige", "Dwayne", "Colleen", "Raymond", "Kayla"]
LAST_NAMES = ["Hale", "Morrison", "Ortega", "Whitfield", "Brennan", "Okafor", "Sullivan", "Castillo", "Lindqvist",
              "Washington", "Duarte", "Kowalski", "Fitzgerald", "Tran", "Delgado", "Hargrove", "McAllister", "Yazzie",
              "Novak", "Pruitt", "Abernathy", "Salazar", "Quinlan", "Beaumont", "Kruger", "Ramsey"]
AGENCIES = {
    "north": {
        ResponderRole.FIREFIGHTER: ["North Metro Fire Rescue (synthetic)", "Cedar Township Fire (synthetic)"],
        ResponderRole.POLICE: ["North Metro Police Dept. (synthetic)", "Lake County Sheriff (synthetic)"],
        ResponderRole.EMS: ["MetroCare EMS (synthetic)"],
        ResponderRole.DISPATCHER: ["Lake County 911 (synthetic)"],
        ResponderRole.CORRECTIONS: ["Lake County Jail (synthetic)"],
        ResponderRole.OTHER: ["Search & Rescue volunteer (synthetic)"],
    },
    "bayside": {
        ResponderRole.FIREFIGHTER: ["Bayside Fire Dept. (synthetic)", "Harbor District Fire (synthetic)"],
        ResponderRole.POLICE: ["Bayside Police (synthetic)", "Harbor Patrol (synthetic)"],
        ResponderRole.EMS: ["Coastal Ambulance (synthetic)"],
        ResponderRole.DISPATCHER: ["Bayside Emergency Communications (synthetic)"],
        ResponderRole.CORRECTIONS: ["Bay County Detention (synthetic)"],
        ResponderRole.OTHER: ["Port Authority Safety (synthetic)"],
    },
}
ROLE_WEIGHTS = [(ResponderRole.FIREFIGHTER, 34), (ResponderRole.POLICE, 28), (ResponderRole.EMS, 18),
                (ResponderRole.DISPATCHER, 10), (ResponderRole.CORRECTIONS, 7), (ResponderRole.OTHER, 3)]
STATUS_WEIGHTS = [(PatientStatus.INTAKE, 5), (PatientStatus.ASSESSMENT, 4), (PatientStatus.ACTIVE, 9),
                  (PatientStatus.MAINTENANCE, 4), (PatientStatus.DISCHARGED, 2), (PatientStatus.INELIGIBLE, 1)]
PATIENTS_PER_CLINIC = {"north": 28, "bayside": 20}


def _pick(rng: random.Random, weighted: list[tuple[object, int]]) -> object:
    return rng.choices([item for item, _ in weighted], weights=[w for _, w in weighted])[0]


def _roster_for(rng: random.Random, role: ResponderRole, today: date) -> dict[str, object]:
    """Realistic duty rosters by role (fire: 24 h platoons; police and dispatch: 12 h rotations)."""
    if role == ResponderRole.FIREFIGHTER:
        pattern = rng.choice(["24/48", "24/48", "48/96", "kelly"])
        return {"roster_pattern": pattern, "roster_shift_start": time(7, 0), "roster_platoon": rng.choice("ABC"),
                "roster_anchor_date": today - timedelta(days=rng.randint(10, 400))}
    if role in (ResponderRole.POLICE, ResponderRole.DISPATCHER, ResponderRole.CORRECTIONS):
        pattern = rng.choice(["pitman", "dupont", "4on4off"])
        return {"roster_pattern": pattern, "roster_shift_start": time(6, 0) if pattern != "4on4off" else time(7, 0),
                "roster_platoon": rng.choice("ABCD"),
                "roster_anchor_date": today - timedelta(days=rng.randint(10, 400))}
    if role == ResponderRole.EMS and rng.random() < 0.7:
        return {"roster_pattern": "24/48", "roster_shift_start": time(8, 0), "roster_platoon": rng.choice("ABC"),
                "roster_anchor_date": today - timedelta(days=rng.randint(10, 400))}
    return {}


def seed(db: Session, today: date | None = None) -> bool:
    """Create the demo once. Returns False (and changes nothing) when a demo clinic already exists."""
    if db.scalar(select(Clinic).where(Clinic.slug == "north")) is not None:
        return False
    today = today or date.today()
    rng = random.Random(SEED)
    north = clinics.create_clinic(db, ACTOR, name="North Metro Responder Clinic", timezone="America/Chicago",
                                  slug="north", chairs=6, phone="(555) 010-4000",
                                  address="100 Example Ave, Springfield (synthetic)", is_synthetic=True)
    north.on_call_emails = "oncall@north.tenfour.example"
    bayside = clinics.create_clinic(db, ACTOR, name="Bayside First Responder Wellness",
                                    timezone="America/Los_Angeles", slug="bayside", chairs=4, phone="(555) 010-4100",
                                    address="2 Harbor Rd, Bayside (synthetic)", is_synthetic=True,
                                    opening_hours={d: [["07:00", "19:00"]] for d in WEEKDAYS[:5]})
    bayside.on_call_emails = "oncall@bayside.tenfour.example"
    by_slug = {"north": north, "bayside": bayside}
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for login in LOGINS:
        user = User(email=login.email, full_name=login.name, role=login.role, password_hash=password_hash)
        if login.role != Role.PATIENT:
            user.memberships = [ClinicMembership(clinic_id=by_slug[s].id) for s in login.clinics.split(",")]
        if login.totp_secret:
            user.totp_secret = login.totp_secret
            user.totp_enabled_at = datetime.now(UTC)
        db.add(user)
        users[login.email] = user
    db.flush()

    used_names: set[tuple[str, str]] = set()
    created: list[Patient] = []
    for slug, count in PATIENTS_PER_CLINIC.items():
        clinic = by_slug[slug]
        for index in range(count):
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                if (first, last) not in used_names:
                    used_names.add((first, last))
                    break
            role = _pick(rng, ROLE_WEIGHTS)
            if slug == "north" and index == 0:  # the demo patient login: a firefighter on a 24/48 roster
                first, last, role = "Marcus", "Hale", ResponderRole.FIREFIGHTER
            assert isinstance(role, ResponderRole)
            age = rng.randint(24, 58)
            patient = Patient(
                clinic_id=clinic.id,
                record_number=f"TF-{slug[:1].upper()}{index + 1:05d}",
                first_name=first,
                last_name=last,
                preferred_name=rng.choice([None, None, None, first[:3] if len(first) > 4 else None]),
                date_of_birth=today - timedelta(days=age * 365 + rng.randint(0, 364)),
                sex=rng.choice(["female", "male", "male"]),
                email=f"{first.lower()}.{last.lower()}@example.com",
                phone=f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}",
                preferred_contact=rng.choice(["phone", "text", "text", "email"]),
                contact_times=rng.choice([None, "Days off only", "Evenings", "Mornings after night shift"]),
                responder_role=role.value,
                agency=rng.choice(AGENCIES[slug][role]) if rng.random() < 0.85 else None,
                years_of_service=rng.randint(2, min(30, age - 20)),
                status=(PatientStatus.ACTIVE if index == 0 else _pick(rng, STATUS_WEIGHTS)).value,  # type: ignore[union-attr]
                is_synthetic=True,
                **_roster_for(rng, role, today),
            )
            patient.consents = [PatientConsent(kind="treatment", version="2026-11"),
                                PatientConsent(kind="contact", version="2026-11")]
            if index % 3 != 2:  # two in three agree to de-identified research use (the research export has rows)
                patient.consents.append(PatientConsent(kind="research_deidentified", version="2026-11"))
            if slug == "north" and index == 0:
                patient.user_id = users["patient.demo@tenfour.example"].id
            db.add(patient)
            created.append(patient)
    db.flush()
    now = datetime.now(UTC)
    seed_assessments(db, created, rng, now)
    flagged = next(p for p in created[1:] if p.clinic_id == north.id and p.status == PatientStatus.ACTIVE)
    seed_urgent_example(db, flagged, rng, now)
    seed_referrals(db, created, now)
    seed_infusions(db, created, rng, now)
    seed_checkins(db, created, now)
    seed_scheduling(db, created, now)
    return True


def reset_database(engine: Engine) -> None:
    """Drop every table of a demo database. Refuses when any clinic is real (not synthetic)."""
    with engine.begin() as connection:
        tables = inspect(connection).get_table_names()
        if "clinics" in tables:
            real = connection.execute(text("SELECT count(*) FROM clinics WHERE NOT is_synthetic")).scalar()
            if real:
                raise RuntimeError("This database holds real clinics; --reset only works on a demo database.")
    from tenfour import migrate

    migrate.downgrade(str(engine.url.render_as_string(hide_password=False)), "base")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _answers_for_total(instrument_id: str, total: int, rng: random.Random, fixed: dict[str, int] | None = None,
                       ) -> dict[str, int]:
    """Answers of an instrument adding up to `total`, spread at random over its items."""
    from tenfour.core import instruments

    instrument = instruments.get(instrument_id)
    answers = {item.id: 0 for item in instrument.items}
    answers.update(fixed or {})
    remaining = total - sum(answers.values())
    free = [item for item in instrument.items if item.id not in (fixed or {})]
    while remaining > 0 and free:
        item = rng.choice(free)
        if answers[item.id] < item.max_value:
            answers[item.id] += 1
            remaining -= 1
        else:
            free.remove(item)
    return answers


def seed_assessments(db: Session, patients: list[Patient], rng: random.Random, now: datetime) -> None:
    """Intake scores for everyone past intake; weekly PCL-5 trajectories for treated patients.

    About two thirds improve by 30% or more (the seed's and Feder 2021's figures); the rest change little.
    """
    from tenfour.assessments.models import AssessmentContext, EnteredBy
    from tenfour.assessments.service import new_assessment
    from tenfour.core import instruments

    for patient in patients:
        if patient.status in (PatientStatus.INTAKE, PatientStatus.REFERRED):
            continue
        weeks = {"assessment": 0, "ineligible": 0, "active": rng.randint(2, 8), "maintenance": rng.randint(10, 20),
                 "discharged": rng.randint(14, 24)}[patient.status]
        start = now - timedelta(days=7 * weeks + rng.randint(3, 10), hours=rng.randint(0, 8))
        baseline = rng.randint(38, 66)
        responder = rng.random() < 0.67
        floor = baseline * (rng.uniform(0.25, 0.6) if responder else rng.uniform(0.8, 1.0))
        phq, gad = rng.randint(9, 21), rng.randint(8, 18)
        rows = [("pcl5", baseline, AssessmentContext.INTAKE, start), ("phq9", phq, AssessmentContext.INTAKE, start),
                ("gad7", gad, AssessmentContext.INTAKE, start)]
        for week in range(1, weeks + 1):
            when = start + timedelta(days=7 * week, hours=rng.randint(-20, 20))
            progress = min(1.0, week / 3)
            pcl = round(baseline - (baseline - floor) * progress + rng.randint(-4, 4))
            if patient.status == PatientStatus.MAINTENANCE and week > weeks - 3:
                pcl += rng.randint(6, 14)  # drifting back up: what the check-ins are there to catch
            rows.append(("pcl5-week", max(0, min(80, pcl)), AssessmentContext.CHECKIN, when))
            if week % 2 == 0:
                rows.append(("phq9", max(0, round(phq * (floor / baseline) + rng.randint(-2, 2))),
                             AssessmentContext.CHECKIN, when))
        for instrument_id, total, context, when in rows:
            answers = _answers_for_total(instrument_id, total, rng, {"q9": 0} if instrument_id == "phq9" else None)
            result = instruments.score(instrument_id, answers)
            entered = EnteredBy.STAFF if context == AssessmentContext.INTAKE else EnteredBy.PATIENT
            db.add(new_assessment(patient, result, context, when, entered, None))
    db.flush()


def seed_urgent_example(db: Session, patient: Patient, rng: random.Random, now: datetime) -> None:
    """One recent PHQ-9 with item 9 answered 1, and its open urgent alert: the banner every staff page shows."""
    from tenfour.alerts.models import Alert, AlertKind, Severity
    from tenfour.assessments.models import AssessmentContext, EnteredBy
    from tenfour.assessments.service import PHQ9_ITEM9_TITLE, new_assessment
    from tenfour.core import instruments

    when = now - timedelta(minutes=42)
    result = instruments.score("phq9", _answers_for_total("phq9", 14, rng, {"q9": 1}))
    assessment = new_assessment(patient, result, AssessmentContext.CHECKIN, when, EnteredBy.PATIENT, None)
    db.add(assessment)
    db.flush()
    db.add(Alert(clinic_id=patient.clinic_id, patient_id=patient.id, severity=Severity.URGENT.value,
                 kind=AlertKind.SUICIDAL_IDEATION.value, title=PHQ9_ITEM9_TITLE,
                 reasons=[{"rule": "phq9_item9", "message": 'PHQ-9 item 9 = 1 ("Several days")'}],
                 source_type="assessment", source_id=assessment.id, created_at=when))
    db.flush()


def seed_infusions(db: Session, patients: list[Patient], rng: random.Random, now: datetime) -> None:
    """Infusion sessions (issue 5): completed sessions with vitals, CADSS-6 and a few adverse events for treated
    patients, and today's chairs at the north clinic in every phase. Uses the signed plans of the referrals seed,
    or signs one as the demo prescriber where there is none."""
    from tenfour.infusions import demo_data

    demo_data.seed(db, patients, rng, now)


def seed_referrals(db: Session, patients: list[Patient], now: datetime) -> None:
    """Referral to plan (issue 4): referrals in every state for both clinics, intake screenings, eligibility
    decisions by the rules (one overridden by a prescriber) and signed induction plans for treated patients.
    Runs before the infusion seed, which uses these plans."""
    from tenfour.referrals import demo_data

    demo_data.seed(db, patients, now)


def seed_checkins(db: Session, patients: list[Patient], now: datetime) -> None:
    """Check-ins and relapse early warning (issue 6): schedules from the infusions, histories along each treated
    patient's scores, warning signs, missed check-ins, a patient drifting toward relapse (watch), one with a loss of
    response (act) and a booster proposal, one who stopped checking in, and the alert inbox that follows from them.
    Runs after the infusion seed, whose sessions the schedules follow."""
    from tenfour.checkins import demo_data

    demo_data.seed(db, patients, now)


def seed_scheduling(db: Session, patients: list[Patient], now: datetime) -> None:
    """Shift-aware scheduling (issue 7): nurses on duty per weekday, a closure day, overtime and leave for two
    patients, signed induction plans still waiting for sessions and an accepted booster, so the waiting list has
    induction series and a booster to schedule. Runs last."""
    from tenfour.scheduling import demo_data

    demo_data.seed(db, patients, now)
