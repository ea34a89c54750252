"""Realistic demo data: 3 teams of 13 agents with Chinese names and agent numbers (工号), the back-office
roles, 500 customers across grades and regions, and 60 days of call records and complaints.

Seeded from a fixed random seed so every demo looks the same; runs only on an empty database unless forced.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit.service import SYSTEM
from core.clock import as_utc, utcnow
from core.config import Settings
from core.db import make_engine, make_session_factory, transaction
from core.pause_reasons.service import ensure_defaults as seed_pause_reasons
from core.people.models import Skill, Team, User, UserSkill
from core.security.passwords import hash_password
from core.security.roles import Role
from qa.sampling import seed_rules
from qa.seed import seed_qa

DEMO_PASSWORD = "demo1234"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红"
    "梅志鹏晓东文博宇浩欣怡子涵雨轩佳琪思远俊杰婷婷雪梅海燕丹丹晨曦"
)
REGIONS = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "天津", "重庆", "苏州"]
SKILLS = [
    ("billing", "账单与缴费"),
    ("tech", "技术支持"),
    ("complaints", "投诉处理"),
    ("sales", "营销与开户"),
    ("english", "英语服务"),
]
TEAMS = [("一组", "billing"), ("二组", "tech"), ("三组", "sales")]


def chinese_name(rng: random.Random) -> str:
    given = GIVEN[rng.randrange(len(GIVEN))]
    if rng.random() < 0.6:
        given += GIVEN[rng.randrange(len(GIVEN))]
    return SURNAMES[rng.randrange(len(SURNAMES))] + given


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10)}{rng.randrange(10**8):08d}"


@dataclass
class SeedResult:
    skipped: bool = False
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, name)
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        lines = []
        if self.skipped:
            lines.append("demo data already present; not seeded again")
        else:
            lines.append("demo data: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        if self.logins:
            lines.append(f"demo logins (password for all: {DEMO_PASSWORD}):")
            lines.extend(f"  {role:<20} {username:<14} {name}" for role, username, name in self.logins)
        return "\n".join(lines)


def seed_demo(settings: Settings, *, random_seed: int = 2026, force: bool = False) -> SeedResult:
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return seed_session(session, settings, random_seed=random_seed, force=force)
    finally:
        engine.dispose()


def seed_session(
    session: Session, settings: Settings, *, random_seed: int = 2026, force: bool = False
) -> SeedResult:
    result = SeedResult()
    if not force and (session.scalar(select(func.count()).select_from(User)) or 0) > 0:
        result.skipped = True
        result.logins = _demo_logins(session)
        return result
    rng = random.Random(random_seed)
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: argon2 is slow by design
    agents = _seed_people(session, rng, password_hash)
    customers = _seed_customers(session, rng, settings)
    result.counts = {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "customers": len(customers),
    }
    result.counts.update(_seed_history(session, rng, settings, agents, customers))
    result.counts["equipment"] = _seed_equipment(session, rng, agents)
    result.counts.update(seed_qa(session, rng=rng))
    result.counts["qa_sampling_rules"] = len(seed_rules(session))
    result.counts["pause_reasons"] = seed_pause_reasons(
        session, defaults=settings.pause_reasons, actor=SYSTEM
    )
    result.logins = _demo_logins(session)
    return result


def _demo_logins(session: Session) -> list[tuple[str, str, str]]:
    logins = []
    for role in Role:
        user = session.scalar(select(User).where(User.role == role).order_by(User.id).limit(1))
        if user is not None:
            logins.append((role.value, user.agent_number or user.username, user.full_name))
    return logins


def _user(role: Role, username: str, name: str, password_hash: str, **fields: object) -> User:
    return User(role=role, username=username, full_name=name, password_hash=password_hash, **fields)


def _seed_people(session: Session, rng: random.Random, password_hash: str) -> list[User]:
    skills = {code: Skill(code=code, name=name) for code, name in SKILLS}
    session.add_all(skills.values())
    back_office = [
        (Role.ADMIN, "admin", "系统管理员", None),
        (Role.SUPERVISOR, "supervisor", chinese_name(rng), "9001"),
        (Role.QA_INSPECTOR, "qa", chinese_name(rng), "9101"),
        (Role.COMPLAINTS_OFFICER, "complaints", chinese_name(rng), "9201"),
        (Role.INFO_OFFICER, "info", chinese_name(rng), "9301"),
        (Role.QA_LEAD, "qalead", "周敏", "9102"),  # a fixed name: the seeded names after it stay the same
    ]
    for role, username, name, number in back_office:
        session.add(_user(role, username, name, password_hash, agent_number=number, position=None))
    agents: list[User] = []
    extension = 1001
    for index, (team_name, main_skill) in enumerate(TEAMS, start=1):
        team = Team(name=team_name, description=f"{skills[main_skill].name}")
        session.add(team)
        session.flush()
        lead = _user(
            Role.TEAM_LEAD,
            f"lead{index}",
            chinese_name(rng),
            password_hash,
            agent_number=f"{index}000",
            team_id=team.id,
            position="组长",
        )
        session.add(lead)
        session.flush()
        team.lead_id = lead.id
        for n in range(1, 14):
            number = f"{index}{n:03d}"
            hired = utcnow() - timedelta(days=rng.randrange(10, 1500))
            agent = _user(
                Role.AGENT,
                f"agent{number}",
                chinese_name(rng),
                password_hash,
                agent_number=number,
                team_id=team.id,
                position="坐席员",
                extension=str(extension),
                pbx_interface=f"PJSIP/{extension}",
                hired_on=hired,
            )
            agent.skills = [UserSkill(skill=skills[main_skill], level=rng.randint(4, 10))]
            for code in rng.sample([c for c, _ in SKILLS if c != main_skill], k=rng.randint(0, 2)):
                agent.skills.append(UserSkill(skill=skills[code], level=rng.randint(1, 7)))
            session.add(agent)
            agents.append(agent)
            extension += 1
    session.flush()
    return agents


COMPANY_WORDS = [
    "华信",
    "宏达",
    "金桥",
    "东方",
    "恒通",
    "远航",
    "新世纪",
    "长城",
    "中科",
    "瑞丰",
    "天成",
    "博远",
]
COMPANY_KINDS = [
    "科技有限公司",
    "贸易有限公司",
    "电子股份有限公司",
    "物流有限公司",
    "食品有限公司",
    "建材有限公司",
]
AREA_CODES = ["10", "21", "20", "755", "571", "25"]
STREETS = ["人民路", "解放路", "中山路", "建设路", "长江路", "南京路", "和平路", "新华路"]
INBOUND_TOPICS = [
    ("查询本月账单明细，已逐项解释", "resolved", None),
    ("咨询套餐变更办理流程，已告知所需材料", "resolved", None),
    ("反映宽带断网，已转技术部处理", "transferred", "技术部"),
    ("要求修改联系地址，已登记并提交更改申请", "follow_up", None),
    ("对上次维修服务不满，已升级至组长", "escalated", None),
    ("询问积分兑换规则，已解答", "resolved", None),
    ("发票未收到，已转财务部补寄", "transferred", "财务部"),
    ("咨询新产品价格与优惠活动", "resolved", None),
]
OUTBOUND_TOPICS = [
    ("marketing", "介绍新套餐优惠", ["interested", "not_interested", "sale", "no_sale", "no_answer", "busy"]),
    ("follow_up", "回访维修后使用情况", ["interested", "other", "no_answer"]),
    ("callback", "按客户预约回电", ["callback_requested", "other", "sale"]),
]
NO_SALE_REASONS = ["价格高于竞争对手", "近期无需求", "需与家人商量", "对合同期限有顾虑"]
COMPLAINT_REASONS = [
    ("product", "quality", "产品使用两周后出现故障", "退换货"),
    ("service", "attitude", "客服人员态度冷淡，多次转接无人处理", "道歉并改进"),
    ("product", "delivery_time", "订单超过承诺时间五天仍未送达", "尽快送达并补偿运费"),
    ("service", "service", "上门安装人员未按约定时间到达", "重新预约并赔偿误工"),
    ("product", "quantity", "收到的货物数量少于订单", "补发缺少的货物"),
    ("other", "other", "账单中出现未订购的增值业务费用", "退还费用"),
]


def _seed_customers(session: Session, rng: random.Random, settings: Settings) -> list[int]:
    from core.customers import service as customers
    from core.customers.schemas import CustomerCreate

    grades = ["AAA"] * 5 + ["AA"] * 15 + ["A"] * 40 + ["B"] * 40  # few top customers, as in real books
    ids: list[int] = []
    for n in range(1, 501):
        corporate = rng.random() < 0.3
        region = rng.choice(REGIONS)
        person = chinese_name(rng)
        data: dict[str, object] = {
            "code": f"C{n:06d}",
            "kind": "corporate" if corporate else "individual",
            "name": f"{region}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
            if corporate
            else person,
            "address": f"{region}市{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            "region": region,
            "grade": rng.choice(grades),
            "credit_rating": rng.choice(["excellent", "good", "good", "fair", "poor"]),
            "confidentiality": rng.choice([0, 1, 1, 1, 2, 3]) if corporate else rng.choice([0, 1, 1, 1]),
            "contact_person": person,
            "phones": [{"number": mobile(rng), "label": "mobile", "is_primary": True}],
        }
        if corporate:
            data["phones"].append(  # type: ignore[attr-defined]
                {
                    "number": f"0{rng.choice(AREA_CODES)}{rng.randrange(10**7, 10**8)}",
                    "label": "office",
                }
            )
            data["corporate"] = {
                "legal_rep_name": chinese_name(rng),
                "employees": rng.choice([12, 45, 180, 600, 2500]),
                "annual_output_cents": rng.randrange(10**8, 10**11),
                "trading_area": rng.choice(["华东", "华南", "华北", "全国"]),
                "bank_name": rng.choice(["中国工商银行", "中国建设银行", "招商银行", "中国银行"]),
                "bank_account": f"6222{rng.randrange(10**14, 10**15)}",
                "registered_capital_cents": rng.choice([10**8, 5 * 10**8, 10**9]),
                "payment_cash_pct": 20,
                "payment_cheque_pct": 50,
                "payment_draft_pct": 30,
                "payment_behaviour": rng.choice(["good", "good", "fair", "poor"]),
            }
        else:
            data["individual"] = {
                "gender": rng.choice(["male", "female"]),
                "birth_date": date(
                    rng.randint(1955, 2002), rng.randint(1, 12), rng.randint(1, 28)
                ).isoformat(),
            }
        if rng.random() < 0.25:  # 不宜访问时间: e.g. lunch on weekdays, or Sunday mornings
            data["contact_windows"] = (
                [{"weekday": d, "start": "12:00", "end": "13:30", "note": "午休"} for d in range(5)]
                if rng.random() < 0.5
                else [{"weekday": 6, "start": "08:00", "end": "12:00", "note": "周日上午"}]
            )
        customer = customers.create_customer(
            session,
            data=CustomerCreate.model_validate(data),
            actor=SYSTEM,
            region_default=settings.phone_region,
        )
        ids.append(customer.id)
    return ids


def _seed_history(
    session: Session, rng: random.Random, settings: Settings, agents: list[User], customers: list[int]
) -> dict[str, int]:
    """60 days of inbound and outbound records and complaints at their historical times."""
    from core.audit.service import Actor
    from core.complaints import service as complaints
    from core.complaints.schemas import ComplaintCreate
    from core.contacts import service as contacts
    from core.contacts.schemas import InboundCreate, OutboundCreate, PhoneLogCreate
    from core.customers.models import Customer

    zone = settings.zone
    today = utcnow().astimezone(zone).date()
    officer = session.scalar(select(User).where(User.role == Role.COMPLAINTS_OFFICER))
    counts = {"inbound_records": 0, "outbound_records": 0, "phone_logs": 0, "complaints": 0}
    for days_ago in range(60, -1, -1):
        day = today - timedelta(days=days_ago)
        for _ in range(rng.randint(18, 30) if day.weekday() < 5 else rng.randint(6, 12)):
            agent = rng.choice(agents)
            customer = session.get(Customer, rng.choice(customers))
            assert customer is not None
            start = as_utc(datetime.combine(day, time(rng.randint(8, 20), rng.randrange(60))), zone)
            if start > utcnow():
                continue
            actor = Actor(agent.id, agent.username)
            content, outcome, department = rng.choice(INBOUND_TOPICS)
            contacts.create_inbound(
                session,
                data=InboundCreate(
                    customer_id=customer.id,
                    caller_name=customer.contact_person or customer.name,
                    caller_organisation=customer.name if customer.kind.value == "corporate" else None,
                    caller_number=customer.phones[0].number,
                    started_at=start,
                    ended_at=start + timedelta(seconds=rng.randint(45, 900)),
                    content=content,
                    outcome=outcome,
                    transferred_to_department=department,
                    queue_name=rng.choice(["support", "billing", "complaints"]),
                ),
                actor=actor,
                agent_id=agent.id,
                settings=settings,
            )
            counts["inbound_records"] += 1
        for _ in range(rng.randint(3, 8) if day.weekday() < 5 else 0):
            agent = rng.choice(agents)
            customer = session.get(Customer, rng.choice(customers))
            assert customer is not None
            start = as_utc(datetime.combine(day, time(rng.randint(9, 18), rng.randrange(60))), zone)
            if start > utcnow():
                continue
            purpose, content, results = rng.choice(OUTBOUND_TOPICS)
            result = rng.choice(results)
            contacts.create_outbound(
                session,
                data=OutboundCreate(
                    customer_id=customer.id,
                    customer_name=customer.contact_person or customer.name,
                    called_number=customer.phones[0].number,
                    started_at=start,
                    ended_at=start + timedelta(seconds=rng.randint(20, 600)),
                    content=content,
                    purpose=purpose,
                    result=result,
                    no_sale_reason=rng.choice(NO_SALE_REASONS) if result == "no_sale" else None,
                    handling_opinion="两周后再次跟进" if result == "interested" else None,
                    next_follow_up_at=start + timedelta(days=14) if result == "interested" else None,
                ),
                actor=Actor(agent.id, agent.username),
                agent_id=agent.id,
                settings=settings,
            )
            counts["outbound_records"] += 1
            if result in ("no_answer", "busy"):
                contacts.create_phone_log(
                    session,
                    data=PhoneLogCreate(
                        party_name=customer.name,
                        phone_number=customer.phones[0].number,
                        called_at=start,
                        duration_seconds=0,
                        purpose=content,
                        repeat_call_needed=True,
                        repeat_call_at=start + timedelta(days=1),
                    ),
                    actor=Actor(agent.id, agent.username),
                    agent_id=agent.id,
                    settings=settings,
                )
                counts["phone_logs"] += 1
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            received = as_utc(datetime.combine(day, time(rng.randint(8, 20), rng.randrange(60))), zone)
            if received > utcnow() or officer is None:
                continue
            agent = rng.choice(agents)
            customer = session.get(Customer, rng.choice(customers))
            assert customer is not None
            category, problem, reason, wish = rng.choice(COMPLAINT_REASONS)
            complaint = complaints.register_complaint(
                session,
                data=ComplaintCreate(
                    channel=rng.choice(["phone"] * 6 + ["letter", "visit", "store", "fax"]),
                    customer_id=customer.id,
                    customer_name=customer.name,
                    customer_address=customer.address,
                    customer_phone=customer.phones[0].number,
                    product=rng.choice(["宽带套餐", "智能电视", "路由器", "手机"]),
                    category=category,
                    problem_type=problem,
                    reason=reason,
                    customer_request=wish,
                    urgency=rng.choice(["normal", "normal", "urgent", "very_urgent"]),
                ),
                actor=Actor(agent.id, agent.username),
                settings=settings,
                received_at=received,
            )
            counts["complaints"] += 1
            _advance_complaint(session, rng, settings, complaint.id, received, officer, days_ago)
    return counts


def _advance_complaint(
    session: Session,
    rng: random.Random,
    settings: Settings,
    complaint_id: int,
    received: datetime,
    officer: User,
    days_ago: int,
) -> None:
    """Older complaints are further along: most closed and called back, some still open or escalated."""
    from core.audit.service import Actor
    from core.complaints import service as complaints
    from core.complaints.schemas import CallbackIn, TransitionIn

    actor = Actor(officer.id, officer.username)
    steps: list[dict[str, object]] = [
        {"to": "investigating", "note": "已联系相关部门核实"},
        {
            "to": "solution_proposed",
            "resolution": rng.choice(["exchange", "repair", "discount", "compensation"]),
        },
        {"to": "negotiating", "note": "与客户沟通处理方案"},
        {"to": "in_progress", "acceptance": "accepted"},
        {"to": "closed", "investigation_result": "情况属实，已按方案处理完毕"},
    ]
    progress = min(len(steps), days_ago // 3 + rng.randint(0, 2))
    if rng.random() < 0.08 and progress >= 1:
        steps = [steps[0], {"to": "rejected", "rejection_reason": "经核实不属于本公司责任"}]
        progress = 2
    moment = received
    for step in steps[:progress]:
        moment = min(moment + timedelta(hours=rng.randint(2, 30)), utcnow())
        complaints.transition(
            session,
            complaint_id=complaint_id,
            data=TransitionIn.model_validate(step),
            actor=actor,
            settings=settings,
            at=moment,
        )
    if progress == len(steps) and steps[-1]["to"] == "closed" and rng.random() < 0.8:
        callback_at = min(moment + timedelta(days=1), utcnow())
        complaints.record_callback(
            session,
            complaint_id=complaint_id,
            data=CallbackIn.model_validate({"satisfaction": rng.choice([1, 1, 2, 2, 2, 3, 4, 5])}),
            actor=actor,
            at=callback_at,
        )


def _seed_equipment(session: Session, rng: random.Random, agents: list[User]) -> int:
    from core.equipment import service as equipment
    from core.equipment.schemas import EquipmentCreate

    items = 0
    for agent in agents:
        for category, name in (("headset", "缤特力双耳耳机"), ("phone", "IP 话机")):
            items += 1
            equipment.create_equipment(
                session,
                data=EquipmentCreate.model_validate(
                    {
                        "number": f"SB-{items:04d}",
                        "name": name,
                        "category": category,
                        "user_id": agent.id,
                        "phone_extension": agent.extension,
                        "quantity": 1,
                        "purchase_date": date(2025, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                    }
                ),
                actor=SYSTEM,
            )
    for number, name, category in (
        ("SB-9001", "呼叫中心服务器", "server"),
        ("SB-9002", "语音网关", "gateway"),
    ):
        equipment.create_equipment(
            session,
            data=EquipmentCreate.model_validate(
                {"number": number, "name": name, "category": category, "quantity": 1}
            ),
            actor=SYSTEM,
        )
        items += 1
    return items
