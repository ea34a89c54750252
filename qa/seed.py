"""Demo data of QA (qa-core): the default scorecard 客服通话质检表 and, when stored recordings and
inspectors exist, a few open assignments so the inspector's workbench is not empty."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.people.models import User
from core.security.roles import Role
from qa import service
from qa.models import Assignment, Scorecard
from qa.schemas import ScorecardIn
from recording.models import Recording, RecordingStatus

DEFAULT_SCORECARD = "客服通话质检表"
DEMO_ASSIGNMENTS_PER_INSPECTOR = 5


def _item(
    key: str,
    title: str,
    weight: float,
    *,
    kind: str = "yes_no",
    scale_max: int | None = None,
    allow_na: bool = False,
    critical: str = "none",
    guidance: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "weight": weight,
        "kind": kind,
        "scale_max": scale_max,
        "allow_na": allow_na,
        "critical": critical,
        "guidance": guidance,
    }


def default_definition() -> dict[str, Any]:
    """The default card: five weighted sections, identity checking as an auto-fail item."""
    return {
        "sections": [
            {
                "key": "opening",
                "title": "开场与礼貌用语",
                "weight": 15,
                "critical": False,
                "items": [
                    _item("greeting", "规范问候并报工号", 1, guidance="“您好，××号为您服务”，三声铃响内接起"),
                    _item("courtesy", "全程使用礼貌用语，语气友好", 2, kind="scale", scale_max=5),
                    _item("addressing", "正确称呼客户（先生/女士）", 1, allow_na=True),
                ],
            },
            {
                "key": "business",
                "title": "业务处理",
                "weight": 35,
                "critical": False,
                "items": [
                    _item("needs", "准确识别客户需求", 3, kind="scale", scale_max=5),
                    _item(
                        "accuracy",
                        "业务解答准确无误",
                        3,
                        critical="section",
                        guidance="答复错误（资费、流程、时限）本分项记零分",
                    ),
                    _item("records", "按流程操作，呼入记录填写完整", 2),
                    _item("hold", "需要客户等待时先征得同意并致谢", 1, allow_na=True),
                    _item("transfer", "转接或升级规范，并告知客户原因", 1, allow_na=True),
                ],
            },
            {
                "key": "communication",
                "title": "沟通技巧",
                "weight": 25,
                "critical": False,
                "items": [
                    _item("listening", "耐心倾听，不打断客户", 2, kind="scale", scale_max=5),
                    _item("clarity", "表达清晰，语速适中，少用专业术语", 2, kind="scale", scale_max=5),
                    _item("empathy", "有同理心，安抚客户情绪", 2, kind="scale", scale_max=5),
                    _item("dead_air", "无长时间冷场（静音）", 1),
                ],
            },
            {
                "key": "compliance",
                "title": "合规与信息安全",
                "weight": 15,
                "critical": True,
                "items": [
                    _item(
                        "identity_check",
                        "透露客户资料前核实客户身份",
                        3,
                        critical="evaluation",
                        guidance="未核实身份即透露客户资料：整通不合格",
                    ),
                    _item("privacy", "不泄露他人信息，不索要密码", 2, critical="section"),
                    _item("recording_notice", "按要求提示通话录音", 1, allow_na=True),
                ],
            },
            {
                "key": "closing",
                "title": "结束语",
                "weight": 10,
                "critical": False,
                "items": [
                    _item("resolved_check", "确认问题已解决，询问是否还有其他需要", 2),
                    _item("farewell", "使用标准结束语，待客户先挂机", 1),
                    _item("survey_invite", "邀请客户参与满意度评价", 1, allow_na=True),
                ],
            },
        ],
        "grade_bands": [
            {"grade": "优秀", "min_pct": 90},
            {"grade": "良好", "min_pct": 80},
            {"grade": "合格", "min_pct": 60},
            {"grade": "不合格", "min_pct": 0},
        ],
        "standard_score": 100,
    }


def seed_qa(session: Session, *, rng: random.Random) -> dict[str, int]:
    """Creates the default scorecard (once) and up to five open assignments per active QA inspector among
    the stored recordings not yet assigned. Returns what it created; the caller commits."""
    counts = {"qa_scorecards": 0, "qa_assignments": 0}
    card = session.scalar(select(Scorecard).where(Scorecard.name == DEFAULT_SCORECARD))
    if card is None:
        data = ScorecardIn.model_validate(
            {
                "name": DEFAULT_SCORECARD,
                "description": "呼入客服通话的标准质检评分表：开场、业务、沟通、合规、结束语五个分项。",
                "definition": default_definition(),
            }
        )
        card = service.create_scorecard(session, data=data, actor=SYSTEM)
        counts["qa_scorecards"] = 1
    inspectors = list(
        session.scalars(
            select(User).where(User.role == Role.QA_INSPECTOR, User.active.is_(True)).order_by(User.id)
        )
    )
    assigned = set(session.scalars(select(Assignment.recording_id)))
    free = [
        r
        for r in session.scalars(
            select(Recording.id).where(Recording.status == RecordingStatus.STORED).order_by(Recording.id)
        )
        if r not in assigned
    ]
    rng.shuffle(free)
    for inspector in inspectors:
        for recording_id in free[:DEMO_ASSIGNMENTS_PER_INSPECTOR]:
            service.assign(
                session,
                recording_id=recording_id,
                scorecard_id=card.id,
                inspector_id=inspector.id,
                reason="manual",
                actor=SYSTEM,
            )
            counts["qa_assignments"] += 1
        free = free[DEMO_ASSIGNMENTS_PER_INSPECTOR:]
    return counts
