"""Roles, permissions and the role matrix.

Every endpoint names one permission (``core.web.require``); this matrix is the only place that says
which role holds it, and ``tests/test_role_matrix.py`` checks every route against it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    SUPERVISOR = "supervisor"
    QA_INSPECTOR = "qa_inspector"
    QA_LEAD = "qa_lead"  # 质检主管: owns the scorecards and sampling, resolves disputes
    COMPLAINTS_OFFICER = "complaints_officer"
    INFO_OFFICER = "info_officer"
    ADMIN = "admin"


class Clearance(IntEnum):
    """Confidentiality level (密级) of a customer file, and the level a role may read without a grant."""

    PUBLIC = 0  # 公开
    INTERNAL = 1  # 内部
    CONFIDENTIAL = 2  # 秘密
    SECRET = 3  # 机密


class Permission(StrEnum):
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_CREATE = "customers.create"
    CUSTOMERS_EDIT = "customers.edit"  # direct edit, grade and credit included (others file a change request)
    CUSTOMERS_IMPORT = "customers.import"
    CUSTOMERS_EXPORT = "customers.export"
    PHONES_UNMASKED = "customers.phones_unmasked"
    RECORDS_CREATE = "records.create"  # inbound/outbound records, phone log, interview plans
    RECORDS_READ = "records.read"  # own records; wider with the scopes below
    RECORDS_READ_TEAM = "records.read_team"
    RECORDS_READ_ALL = "records.read_all"
    RECORDS_EXPORT = "records.export"
    COMPLAINTS_CREATE = "complaints.create"
    COMPLAINTS_READ = "complaints.read"  # those one registered or handles; all with COMPLAINTS_HANDLE
    COMPLAINTS_HANDLE = "complaints.handle"  # move through the states, assign, call back
    EQUIPMENT_READ = "equipment.read"
    EQUIPMENT_WRITE = "equipment.write"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    ACCESS_READ = "access.read"  # customer-file borrowing permissions (借阅权限)
    ACCESS_GRANT = "access.grant"
    CHANGE_REQUESTS_CREATE = "change_requests.create"  # 客户信息更改申请
    CHANGE_REQUESTS_REVIEW = "change_requests.review"
    AUDIT_READ = "audit.read"
    ACD_MONITOR = "acd.monitor"  # the live picture of queues, agents and calls
    DESKTOP_USE = "desktop.use"  # log one's own phone in to queues, pause and resume
    ACD_SUPERVISE = "acd.supervise"  # listen / whisper / barge, force pause or log out, move agents
    ESCALATIONS_HANDLE = "escalations.handle"  # the escalated-calls inbox: take and close
    IVR_MANAGE = "ivr.manage"  # edit and activate IVR flows, upload and generate prompts
    RECORDINGS_LISTEN = "recordings.listen"  # play recordings in one's scope (own / team / all), audited
    RECORDINGS_MANAGE = "recordings.manage"  # recording policy per queue, retention, re-ingest
    QA_OWN = "qa.own"  # see one's own evaluations, acknowledge or dispute them
    QA_EVALUATE = "qa.evaluate"  # score assigned calls, comment, take part in calibration
    QA_MANAGE = "qa.manage"  # scorecards, sampling rules, assignment, dispute resolution, calibration
    QA_RESULTS = "qa.results"  # QA results per agent, team and month (team-scoped for team leads), export
    REPORTS_READ = "reports.read"  # service reports (team-scoped for team leads)
    REPORTS_EXPORT = "reports.export"
    ACD_CONFIGURE = "acd.configure"  # the center's ACD settings kept in the database: pause reasons


P = Permission
_STAFF = {P.CUSTOMERS_READ, P.RECORDS_READ, P.COMPLAINTS_READ, P.CHANGE_REQUESTS_CREATE}
_FRONT_LINE = _STAFF | {P.CUSTOMERS_CREATE, P.RECORDS_CREATE, P.COMPLAINTS_CREATE, P.DESKTOP_USE}
_FRONT_LINE |= {P.QA_OWN, P.RECORDINGS_LISTEN}  # an agent hears their own calls (to answer an evaluation)
_QA = {P.RECORDS_READ_ALL, P.RECORDINGS_LISTEN, P.QA_EVALUATE, P.QA_RESULTS}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset(_FRONT_LINE),
    Role.TEAM_LEAD: frozenset(
        _FRONT_LINE
        | {P.PHONES_UNMASKED, P.RECORDS_READ_TEAM, P.RECORDS_EXPORT, P.COMPLAINTS_HANDLE}
        | {P.EQUIPMENT_READ, P.USERS_READ, P.ACD_MONITOR, P.ACD_SUPERVISE, P.ESCALATIONS_HANDLE}
        | {P.QA_EVALUATE, P.QA_RESULTS, P.REPORTS_READ, P.REPORTS_EXPORT}
    ),
    Role.SUPERVISOR: frozenset(
        _FRONT_LINE
        | {P.CUSTOMERS_EDIT, P.CUSTOMERS_IMPORT, P.CUSTOMERS_EXPORT, P.PHONES_UNMASKED}
        | {P.RECORDS_READ_TEAM, P.RECORDS_READ_ALL, P.RECORDS_EXPORT, P.COMPLAINTS_HANDLE}
        | {P.EQUIPMENT_READ, P.EQUIPMENT_WRITE, P.USERS_READ, P.ACCESS_READ, P.ACCESS_GRANT}
        | {P.CHANGE_REQUESTS_REVIEW, P.AUDIT_READ, P.ACD_MONITOR, P.ACD_SUPERVISE, P.ESCALATIONS_HANDLE}
        | {P.IVR_MANAGE, P.RECORDINGS_MANAGE, P.QA_EVALUATE, P.QA_MANAGE, P.QA_RESULTS}
        | {P.REPORTS_READ, P.REPORTS_EXPORT, P.ACD_CONFIGURE}
    ),
    Role.QA_INSPECTOR: frozenset(_STAFF | _QA | {P.QA_OWN}),
    Role.QA_LEAD: frozenset(_STAFF | _QA | {P.QA_OWN, P.QA_MANAGE, P.REPORTS_READ, P.REPORTS_EXPORT}),
    Role.COMPLAINTS_OFFICER: frozenset(
        _FRONT_LINE | {P.PHONES_UNMASKED, P.COMPLAINTS_HANDLE, P.RECORDS_READ_ALL}
    ),
    Role.INFO_OFFICER: frozenset(
        _FRONT_LINE
        | {P.CUSTOMERS_EDIT, P.CUSTOMERS_IMPORT, P.CUSTOMERS_EXPORT, P.PHONES_UNMASKED}
        | {P.ACCESS_READ, P.ACCESS_GRANT, P.CHANGE_REQUESTS_REVIEW}
    ),
    Role.ADMIN: frozenset(Permission),
}

# Customer files above a role's clearance need an access grant (借阅权限) to be read.
ROLE_CLEARANCE: dict[Role, Clearance] = {
    Role.AGENT: Clearance.INTERNAL,
    Role.TEAM_LEAD: Clearance.CONFIDENTIAL,
    Role.SUPERVISOR: Clearance.SECRET,
    Role.QA_INSPECTOR: Clearance.INTERNAL,
    Role.QA_LEAD: Clearance.INTERNAL,
    Role.COMPLAINTS_OFFICER: Clearance.CONFIDENTIAL,
    Role.INFO_OFFICER: Clearance.SECRET,
    Role.ADMIN: Clearance.SECRET,
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
