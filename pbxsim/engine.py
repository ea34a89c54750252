"""The simulated PBX: channels, app_queue call handling and AMI event emission in Asterisk 22's order.

Owns the state of every channel and queue call and turns each step (join, ring, answer, ring-no-answer,
abandon, timeout, leave-empty, complete, member changes, Originate, Redirect) into AMI frames (ordered
header lists, see frames.py) handed to subscribers, plus queue_log lines. Time comes from a Clock
(clock.py): callbacks only, so a virtual clock replays hours in milliseconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pbxsim.agi_client import HANG_UP_AT_ONCE, AgiCall, AgiTarget, IvrScript
from pbxsim.clock import Clock, TimerHandle
from pbxsim.frames import Headers, event
from pbxsim.queues import (
    DEVICE_STATE_NAME,
    Device,
    DeviceStatus,
    Member,
    Queue,
    QueueCaller,
    QueueConfig,
)
from pbxsim.writers import CdrLog, CelLog, QueueLog, cdr_time

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
Listener = Callable[[Headers], None]


def whole_seconds(start: float, end: float) -> int:
    """app_queue's durations: differences of time(NULL) values, i.e. of whole epoch seconds."""
    return int(end) - int(start)


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    cid_num: str
    cid_name: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    created: float = 0.0
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    recording: bool = False
    device: str = ""  # an originated agent leg keeps its device in use until it hangs up

    def snapshot(self, prefix: str = "") -> Headers:
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", STATE_DESC[self.state]),
            (prefix + "CallerIDNum", self.cid_num),
            (prefix + "CallerIDName", self.cid_name),
            (prefix + "ConnectedLineNum", self.connected_num),
            (prefix + "ConnectedLineName", self.connected_name),
            (prefix + "Language", "en"),
            (prefix + "AccountCode", ""),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]

    def dest(self) -> Headers:
        # Dest* headers name the key "DestChannel" etc.: same snapshot with a prefix
        return self.snapshot("Dest")


class CelTracker:
    """Derives cel_custom rows from the engine's own AMI frames, as Asterisk's CEL does from the same stasis
    messages: Newchannel → CHAN_START, Newstate Up → ANSWER, MusicOnHoldStart/Stop → STREAM_BEGIN/END,
    BridgeEnter/Leave → BRIDGE_ENTER/EXIT, Hangup → HANGUP + CHAN_END (+ LINKEDID_END for the call's last
    channel). Values follow the fixtures' cel.csv (AppName ``AppQueue`` on queue agent legs, ``Answer`` at the
    caller's ANSWER, none after Queue() returned; DNID = the number dialled; ANI empty only at CHAN_START)."""

    def __init__(self, engine: Engine, log: CelLog) -> None:
        self.engine = engine
        self.log = log
        self._dnid: dict[str, str] = {}  # uniqueid → dialled exten
        self._source: dict[str, str] = {}  # linkedid → channel whose HangupRequest came first
        self._dialstatus: dict[str, str] = {}  # linkedid → DIALSTATUS as the caller's HANGUP shows it
        self._bridges: dict[str, list[str]] = {}  # bridge id → channel names in it

    def on_frame(self, name: str, headers: Headers) -> None:
        h = dict(headers)
        chan = self.engine.channels.get(h.get("Channel", ""))
        if name == "HangupRequest" and chan is not None:
            self._source.setdefault(chan.linkedid, chan.name)
        elif name == "DialEnd" and chan is not None:
            status = h.get("DialStatus", "")
            # app_queue leaves DIALSTATUS at the last real outcome: a CANCEL after NOANSWER keeps NOANSWER
            if status != "CANCEL" or chan.linkedid not in self._dialstatus:
                self._dialstatus[chan.linkedid] = status
        if chan is None:
            return
        if name == "Newchannel":
            if chan.exten != "s":
                self._dnid[chan.uniqueid] = chan.exten
            self._row("CHAN_START", chan, app="", data="", ani="", dnid="")
            if chan.state == 6:
                self._row("ANSWER", chan)
        elif name == "Newstate" and chan.state == 6:
            app, data = self._app(chan)
            self._row("ANSWER", chan, app=app or "Answer", data=data if app else "")
        elif name == "MusicOnHoldStart":
            self._row("STREAM_BEGIN", chan, userdeftype="MOH_STREAM_BEGIN", extra='{"class":"default"}')
        elif name == "MusicOnHoldStop":
            self._row("STREAM_END", chan, userdeftype="MOH_STREAM_END")
        elif name in ("BridgeEnter", "BridgeLeave"):
            bridge = h.get("BridgeUniqueid", "")
            members = self._bridges.setdefault(bridge, [])
            if name == "BridgeLeave" and chan.name in members:
                members.remove(chan.name)
            peer = ",".join(members)
            if name == "BridgeEnter":
                members.append(chan.name)
            elif not members:
                self._bridges.pop(bridge, None)
            extra = f'{{"bridge_id":"{bridge}","bridge_technology":"simple_bridge"}}'
            self._row(
                "BRIDGE_ENTER" if name == "BridgeEnter" else "BRIDGE_EXIT", chan, peer=peer, extra=extra
            )
        elif name == "Hangup":
            self._hangup(chan, h.get("Cause", "0"))

    def _app(self, chan: Channel) -> tuple[str, str]:
        if chan.application == "AppDial":
            return "AppQueue", chan.app_data
        return chan.application, chan.app_data

    def _hangup(self, chan: Channel, cause: str) -> None:
        ringing_leg = chan.application == "AppDial" and chan.state != 6
        if ringing_leg:
            source, dialstatus = "", ""
        else:
            source = self._source.get(chan.linkedid, "dialplan/builtin")
            dialstatus = "" if chan.application == "AppDial" else self._dialstatus.get(chan.linkedid, "")
        # Queue() has returned by the time the caller hangs up: no application any more
        app, data = ("", "") if chan.application == "Queue" else self._app(chan)
        extra = f'{{"hangupcause":{int(cause)},"hangupsource":"{source}","dialstatus":"{dialstatus}"}}'
        self._row("HANGUP", chan, app=app, data=data, extra=extra)
        self._row("CHAN_END", chan, app=app, data=data)
        others = any(c.linkedid == chan.linkedid and c is not chan for c in self.engine.channels.values())
        if not others:
            self._row("LINKEDID_END", chan, app=app, data=data)
            self._source.pop(chan.linkedid, None)
            self._dialstatus.pop(chan.linkedid, None)
        self._dnid.pop(chan.uniqueid, None)

    def _row(
        self,
        event_type: str,
        chan: Channel,
        *,
        app: str | None = None,
        data: str | None = None,
        ani: str | None = None,
        dnid: str | None = None,
        peer: str = "",
        userdeftype: str = "",
        extra: str = "",
    ) -> None:
        default_app, default_data = self._app(chan)
        self.log.add(
            self.engine.now(),
            EventType=event_type,
            CallerIDname=chan.cid_name,
            CallerIDnum=chan.cid_num,
            ANI=chan.cid_num if ani is None else ani,
            DNID=self._dnid.get(chan.uniqueid, "") if dnid is None else dnid,
            Exten=chan.exten,
            Context=chan.context,
            Channel=chan.name,
            AppName=default_app if app is None else app,
            AppData=(default_data if app is None else "") if data is None else data,
            AMAFlags="DOCUMENTATION",
            UniqueID=chan.uniqueid,
            LinkedID=chan.linkedid,
            BridgePeer=peer,
            UserDefType=userdeftype,
            EventExtra=extra,
        )


@dataclass
class SpySession:
    """A supervisor's ChanSpy on an agent channel (``options``: q quiet, w whisper, B barge)."""

    spyer: Channel
    spyee: Channel
    options: str


SPY_ROUTES = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}  # the lab's ``supervisor`` context


def spy_request(
    application: str, data: str, context: str, exten: str, variables: dict[str, str]
) -> tuple[str, str] | None:
    """(target, options) when an Originate asks for ChanSpy, either directly (``Application: ChanSpy``,
    ``Data: PJSIP/1002,q``) or through the lab's dialplan (``Context: supervisor``, ``Exten: listen|whisper|
    barge``, ``Variable: SPYTARGET=PJSIP/1002``); None for any other Originate."""
    if application.lower() == "chanspy":
        target, _, options = data.partition(",")
        return target.strip(), options.strip()
    if not application and context == "supervisor" and exten in SPY_ROUTES and "SPYTARGET" in variables:
        return variables.get("SPYTARGET", ""), SPY_ROUTES[exten]
    return None


@dataclass
class Leg:
    """One agent channel being rung for a caller."""

    member: Member
    channel: Channel
    started: float
    timers: list[TimerHandle] = field(default_factory=list)
    cdr_start: float = 0.0
    cdr_sequence: int = 0


@dataclass
class CallerSpec:
    """A caller's behaviour: ``patience`` seconds of waiting before hanging up (None: waits forever),
    ``talk`` seconds after being connected before hanging up (None: waits for the agent)."""

    number: str
    name: str = ""
    queue: str = "support"
    priority: int = 0
    patience: float | None = None
    talk: float | None = None
    queue_timeout: float | None = None  # Queue(...,timeout) of the dialplan
    no_answer_for: float = 0.0  # the lab's predial trick: phones rung in this caller's first N s don't answer
    # dials the hotline: [from-pstn] runs the IVR over FastAGI (when the engine has an AGI target) and the
    # IVR's IVR_QUEUE / QUEUE_PRIO replace ``queue`` / ``priority``; None dials the queue's extension directly
    ivr: IvrScript | None = None


@dataclass
class Call:
    spec: CallerSpec
    channel: Channel
    queue: Queue | None = None
    entry: QueueCaller | None = None
    legs: list[Leg] = field(default_factory=list)
    agent: Leg | None = None
    connected_at: float = 0.0
    holdtime: int = 0
    timers: list[TimerHandle] = field(default_factory=list)
    done: bool = False
    outcome: str = ""
    rr_after: int | None = None  # rrmemory position to store when this ring attempt ends
    cdr_rows: int = 0
    agi: AgiCall | None = None  # while the caller is in the IVR
    agi_status: str = ""  # AGISTATUS once the IVR is done


class Engine:
    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 1,
        queue_log: QueueLog | None = None,
        cdr: CdrLog | None = None,
        cel: CelLog | None = None,
    ) -> None:
        self.clock = clock
        self.cdr = cdr or CdrLog()
        self.cel = cel or CelLog()
        self._cel = CelTracker(self, self.cel)
        self.spies: list[SpySession] = []
        self._cdr_seq = 0
        self.rng = random.Random(seed)
        self.queue_log = queue_log or QueueLog()
        self.queues: dict[str, Queue] = {}
        self.devices: dict[str, Device] = {}
        self.channels: dict[str, Channel] = {}  # by name
        self.calls: dict[str, Call] = {}  # by caller uniqueid
        self.listeners: list[Listener] = []
        self.globals: dict[str, str] = {}
        self._wakes: dict[str, set[float]] = {}
        self.frames: list[Headers] = []  # kept when record_frames (tests)
        self.agi: AgiTarget | None = None  # the IVR's FastAGI server ([from-pstn] AGI(agi://…/ivr))
        self.hotline = "4000"  # the number IVR callers dial ([from-pstn] matches any)
        self.agi_tasks: set[asyncio.Task[None]] = set()
        self.record_frames = False
        self._seq = 0
        self.started = clock.now()
        self.queue_log.write(self.started, "NONE", "NONE", "NONE", "QUEUESTART")

    # ---------------------------------------------------------------- setup
    def add_queue(self, config: QueueConfig) -> Queue:
        queue = Queue(config)
        self.queues[config.name] = queue
        return queue

    def add_device(self, interface: str, caller_id_name: str, phone: object | None = None) -> Device:
        from pbxsim.queues import Phone

        device = Device(interface, caller_id_name, phone if isinstance(phone, Phone) else Phone())
        self.devices[interface] = device
        return device

    def add_static_member(self, queue: str, interface: str, name: str, penalty: int = 0) -> Member:
        q = self.queues[queue]
        member = Member(
            self.devices[interface], name, penalty, login_time=int(self.started), ringinuse=q.config.ringinuse
        )
        q.members.append(member)
        return member

    # ---------------------------------------------------------------- output
    def now(self) -> float:
        return self.clock.now()

    def emit(self, name: str, privilege: str, headers: Headers) -> None:
        frame = event(name, privilege, self.now(), headers)
        self._cel.on_frame(name, headers)
        if self.record_frames:
            self.frames.append(frame)
        for listener in list(self.listeners):
            listener(frame)

    def _new_channel(self, tech: str, **kw: object) -> Channel:
        now = self.now()
        uid = f"{int(now)}.{self._seq}"
        name = f"{tech}-{self._seq:08x}"
        self._seq += 1
        linkedid = str(kw.pop("linkedid", uid))
        chan = Channel(name=name, uniqueid=uid, linkedid=linkedid, created=now, **kw)  # type: ignore[arg-type]
        self.channels[name] = chan
        return chan

    def _later(self, delay: float, fn: Callable[[], None], bag: list[TimerHandle]) -> None:
        bag.append(self.clock.call_later(delay, fn))

    def _member_headers(self, q: Queue, m: Member) -> Headers:
        d = m.device
        return [
            ("Queue", q.name),
            ("MemberName", m.name),
            ("Interface", m.interface),
            ("StateInterface", m.interface),
            ("Membership", "dynamic" if m.dynamic else "static"),
            ("Penalty", str(m.penalty)),
            ("CallsTaken", str(d.calls_taken)),
            ("LastCall", str(int(d.last_call))),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login_time)),
            ("InCall", "1" if m.in_call_here else "0"),
            ("Status", str(int(d.status))),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.paused_reason),
            ("Ringinuse", "1" if m.ringinuse else "0"),
            ("Wrapuptime", "0"),
        ]

    def _device_changed(self, device: Device) -> None:
        self._device_state(device)
        self._member_status(device)

    def _device_state(self, device: Device) -> None:
        self.emit(
            "DeviceStateChange",
            "call,all",
            [("Device", device.interface), ("State", DEVICE_STATE_NAME[device.status])],
        )

    def _member_status(self, device: Device) -> None:
        for q in self.queues.values():
            m = q.member(device.interface)
            if m is not None:
                self.emit("QueueMemberStatus", "agent,all", self._member_headers(q, m))

    def set_variable(self, chan: Channel, variable: str, value: str) -> None:
        """Set(var=value) / AGI SET VARIABLE / AMI Setvar on a channel: the VarSet event included."""
        self._setvar(chan, variable, value)

    def _setvar(self, chan: Channel, variable: str, value: str) -> None:
        chan.variables[variable] = value
        self.emit("VarSet", "dialplan,all", [*chan.snapshot(), ("Variable", variable), ("Value", value)])

    def _hangup(self, chan: Channel, cause: int) -> None:
        text = {0: "Unknown", 16: "Normal Clearing", 26: "Answered elsewhere", 17: "User busy"}[cause]
        if self.spies:
            self._stop_spies(chan)
        self.emit("Hangup", "call,all", [*chan.snapshot(), ("Cause", str(cause)), ("Cause-txt", text)])
        self.channels.pop(chan.name, None)
        device = self.devices.get(chan.device)
        if device is not None:
            device.in_call = False
            self._device_changed(device)
            for q in self.queues.values():
                if q.member(device.interface) is not None:
                    self.dispatch(q)

    def _cdr_row(self, call: Call, leg: Leg, end: float, disposition: str) -> None:
        """One cdr_csv row per agent attempt; the caller was answered by the dialplan, so answer = start."""
        caller, q = call.channel, call.queue
        queue = q.name if q is not None else ""
        duration = str(whole_seconds(leg.cdr_start, end))
        self.cdr.add(
            src=caller.cid_num,
            dst=queue,
            dcontext="queues",
            clid=f'"{caller.cid_name}" <{caller.cid_num}>',
            channel=caller.name,
            dstchannel=leg.channel.name,
            lastapp="Queue",
            lastdata=f"{queue},t",
            start=cdr_time(leg.cdr_start),
            answer=cdr_time(leg.cdr_start),
            end=cdr_time(end),
            duration=duration,
            billsec=duration,
            disposition=disposition,
            amaflags="DOCUMENTATION",
            uniqueid=caller.uniqueid,
            userfield=f"q:{queue}",
            linkedid=caller.linkedid,
            sequence=str(leg.cdr_sequence),
        )

    # ---------------------------------------------------------------- callers
    def place_call(self, spec: CallerSpec) -> Call:
        """A caller dials the queue's extension; the dialplan answers it and runs Queue(). A caller with an
        IVR script dials the hotline instead when the engine has an AGI target (see ``_ivr_call``)."""
        if spec.ivr is not None and self.agi is not None:
            return self._ivr_call(spec, self.agi)
        q = self.queues[spec.queue]
        exten = q.config.exten or q.name
        chan = self._new_channel(
            "PJSIP/customers",
            cid_num=spec.number,
            cid_name=spec.name or spec.number,
            context="from-customers",
            exten=exten,
            state=4,
        )
        call = Call(spec, chan)
        self.calls[chan.uniqueid] = call
        self.emit("Newchannel", "call,all", chan.snapshot())
        chan.state, chan.context, chan.exten, chan.priority = 6, "queues", q.name, 3
        self.emit("Newstate", "call,all", chan.snapshot())
        chan.priority = 4
        timeout = spec.queue_timeout
        # the dialplan's Queue() arguments, as CEL's AppData shows them (``complaints,t,,,30``)
        chan.application, chan.app_data = "Queue", f"{q.name},t" + (f",,,{timeout:g}" if timeout else "")
        if spec.priority:
            self._setvar(chan, "QUEUE_PRIO", str(spec.priority))
        self._enter_queue(call, q)
        return call

    # ---------------------------------------------------------------- the IVR ([from-pstn], extensions.conf)
    def _ivr_call(self, spec: CallerSpec, target: AgiTarget) -> Call:
        """NoOp, Answer(), AGI(agi://…/ivr): the caller walks our IVR over FastAGI with its script; then
        ``_after_ivr`` follows IVR_QUEUE to the queue with QUEUE_PRIO, or hangs up."""
        chan = self._new_channel(
            "PJSIP/customers",
            cid_num=spec.number,
            cid_name=spec.name or spec.number,
            context="from-pstn",
            exten=self.hotline,
            state=4,
        )
        call = Call(spec, chan)
        self.calls[chan.uniqueid] = call
        self.emit("Newchannel", "call,all", chan.snapshot())
        chan.state, chan.priority = 6, 2
        chan.application, chan.app_data = "Answer", ""
        self.emit("Newstate", "call,all", chan.snapshot())
        chan.priority = 3
        chan.application, chan.app_data = "AGI", f"{target.url},{chan.linkedid}"
        assert spec.ivr is not None
        # AGI(${AGI_SERVER}/ivr,${CHANNEL(linkedid)}): the IVR records the call's linkedid
        agi = AgiCall(
            self, chan, spec.ivr, target, thread_id=140306640029376 + self._seq * 512, args=(chan.linkedid,)
        )
        call.agi = agi

        async def walk() -> None:
            status = "FAILURE"
            try:
                status = await agi.run()
            finally:
                call.agi = None
                if task is not None:
                    self.agi_tasks.discard(task)
            self._after_ivr(call, status, hung_up_by_agi=agi.hangup_requested)

        task: asyncio.Task[None] | None = None
        task = asyncio.get_running_loop().create_task(walk())
        self.agi_tasks.add(task)
        return call

    def _after_ivr(self, call: Call, status: str, *, hung_up_by_agi: bool = False) -> None:
        chan = call.channel
        if call.done:
            return
        call.agi_status = status
        self._setvar(chan, "AGISTATUS", status)
        if hung_up_by_agi:  # the AGI's HANGUP command: the channel is gone, the dialplan stops
            call.outcome = "ivr_done"
            self._end_caller_after_queue(call)
            return
        if status == "HANGUP":
            # the caller left in the IVR (or the IVR hung up): as captured, Cause 0 on the caller
            self.emit("SoftHangupRequest", "call,all", [*chan.snapshot(), ("Cause", "16")])
            call.done, call.outcome = True, "ivr_hangup"
            self._hangup(chan, 0)
            return
        queue = chan.variables.get("IVR_QUEUE", "")
        if not queue:  # GotoIf($["${IVR_QUEUE}" = ""]?done) → Hangup()
            chan.priority = 6
            call.outcome = "ivr_done"
            self._end_caller_after_queue(call)
            return
        try:
            priority = int(chan.variables.get("QUEUE_PRIO", "0") or "0")
        except ValueError:
            priority = 0
        call.spec = dataclasses.replace(call.spec, queue=queue, priority=priority)
        # Goto(queues,${IVR_QUEUE},1): NoOp, Set(CDR(userfield)), Queue(${EXTEN},tF(survey^s^1),,,600)
        timeout = call.spec.queue_timeout or 600.0
        call.spec.queue_timeout = timeout
        chan.context, chan.exten, chan.priority = "queues", queue, 3
        chan.application, chan.app_data = "Queue", f"{queue},tF(survey^s^1),,,{timeout:g}"
        q = self.queues.get(queue)
        if q is None:  # app_queue: no such queue, Queue() returns at once
            self._setvar(chan, "QUEUESTATUS", "UNKNOWN")
            call.outcome = "unknown_queue"
            self._after_queue(call, "callback")
            return
        self._enter_queue(call, q)

    def _enter_queue(self, call: Call, q: Queue) -> None:
        if not q.config.joinempty and not q.usable_members():
            self._setvar(call.channel, "QUEUESTATUS", "JOINEMPTY")
            call.outcome = "joinempty"
            self._after_queue(call, "callback")
            return
        self._join(call, q)

    def _join(self, call: Call, q: Queue) -> None:
        now = self.now()
        chan = call.channel
        entry = QueueCaller(call, call.spec.priority, now, 0, next_try=now)
        position = q.insert(entry)
        entry.original_position = position
        call.queue, call.entry = q, entry
        self.emit(
            "QueueCallerJoin",
            "agent,all",
            [
                *chan.snapshot(),
                ("Queue", q.name),
                ("Position", str(position)),
                ("Count", str(len(q.callers))),
            ],
        )
        self.queue_log.write(now, chan.uniqueid, q.name, "NONE", "ENTERQUEUE", "", call.spec.number, position)
        self.emit("MusicOnHoldStart", "call,all", [*chan.snapshot(), ("Class", "default")])
        if call.spec.patience is not None:
            self._later(call.spec.patience, lambda: self.caller_hangup(call), call.timers)
        if call.spec.queue_timeout is not None:
            self._later(call.spec.queue_timeout, lambda: self._queue_timeout(call), call.timers)
        self.dispatch(q)

    def _leave_headers(self, call: Call, q: Queue, position: int) -> Headers:
        return [
            *call.channel.snapshot(),
            ("Queue", q.name),
            ("Position", str(position)),
            ("Count", str(len(q.callers))),
        ]

    def _remove_from_queue(self, call: Call) -> int:
        assert call.queue is not None and call.entry is not None
        position = call.queue.position(call.entry)
        call.queue.callers.remove(call.entry)
        for t in call.timers:
            t.cancel()
        call.timers.clear()
        return position

    def _cancel_legs(self, call: Call, *, log_canceled: bool) -> None:
        """Caller gone while agents ring: DialEnd CANCEL twice per leg (as captured)."""
        for leg in call.legs:
            for t in leg.timers:
                t.cancel()
            for _ in range(2):
                self.emit(
                    "DialEnd",
                    "call,all",
                    [*call.channel.snapshot(), *leg.channel.dest(), ("DialStatus", "CANCEL")],
                )
            if log_canceled and call.queue is not None:
                ms = int((self.now() - leg.started) * 1000)
                self.queue_log.write(
                    self.now(), call.channel.uniqueid, call.queue.name, leg.member.name, "RINGCANCELED", ms
                )

    def _drop_legs(self, call: Call, cause: int = 0) -> None:
        legs, call.legs = call.legs, []
        for leg in legs:
            self._cdr_row(call, leg, self.now(), "NO ANSWER")
            self._hangup(leg.channel, cause)
            leg.member.device.ringing -= 1
            self._device_changed(leg.member.device)

    def _abandon_frame(self, call: Call, q: Queue, position: int) -> None:
        assert call.entry is not None
        self.emit(
            "QueueCallerAbandon",
            "agent,all",
            [
                *call.channel.snapshot(),
                ("Queue", q.name),
                ("Position", str(position)),
                ("OriginalPosition", str(call.entry.original_position)),
                ("HoldTime", str(whole_seconds(call.entry.joined, self.now()))),
            ],
        )

    def caller_hangup(self, call: Call) -> None:
        """The caller hangs up: abandon while waiting/ringing, COMPLETECALLER when connected."""
        if call.done:
            return
        if call.agi is not None:
            call.agi.caller_hangup()  # the IVR conversation ends it (HANGUP, 511, AGISTATUS)
            return
        if call.agent is not None:
            self._complete(call, "caller")
            return
        q, chan = call.queue, call.channel
        if q is None or call.entry is None:
            self._drop_channel(chan)
            return
        now = self.now()
        ringing = bool(call.legs)
        self.emit("HangupRequest", "call,all", chan.snapshot())
        self.emit("MusicOnHoldStop", "call,all", chan.snapshot())
        self._cancel_legs(call, log_canceled=True)
        position = q.position(call.entry)
        self._abandon_frame(call, q, position)
        if ringing:
            self._drop_legs(call)
        self._remove_from_queue(call)
        q.abandoned += 1
        self.emit("QueueCallerLeave", "agent,all", self._leave_headers(call, q, position))
        self.queue_log.write(
            now,
            chan.uniqueid,
            q.name,
            "NONE",
            "ABANDON",
            position,
            call.entry.original_position,
            whole_seconds(call.entry.joined, now),
        )
        call.outcome = "abandoned"
        self.emit("SoftHangupRequest", "call,all", [*chan.snapshot(), ("Cause", "16")])
        call.done = True
        self._hangup(chan, 0)
        self.dispatch(q)

    def _exit_queue(self, call: Call, verb: str, status: str) -> None:
        """Leave by Queue() timeout (EXITWITHTIMEOUT) or because the queue emptied (EXITEMPTY)."""
        q = call.queue
        if q is None or call.entry is None or call.done:
            return
        now = self.now()
        if call.legs:
            self._cancel_legs(call, log_canceled=True)
            self._drop_legs(call)
        position = q.position(call.entry)
        self._abandon_frame(call, q, position)
        self.emit("MusicOnHoldStop", "call,all", call.channel.snapshot())
        self._remove_from_queue(call)
        self.emit("QueueCallerLeave", "agent,all", self._leave_headers(call, q, position))
        self._setvar(call.channel, "QUEUEPOSITION", str(position))
        self._setvar(call.channel, "QUEUESTATUS", status)
        self.queue_log.write(
            now,
            call.channel.uniqueid,
            q.name,
            "NONE",
            verb,
            position,
            call.entry.original_position,
            whole_seconds(call.entry.joined, now),
        )
        call.outcome = status.lower()
        self._after_queue(call, "callback")
        self.dispatch(q)

    def _queue_timeout(self, call: Call) -> None:
        if call.agent is None:
            self._exit_queue(call, "EXITWITHTIMEOUT", "TIMEOUT")

    def _after_queue(self, call: Call, script: str) -> None:
        """The dialplan after Queue() for a caller who came through our IVR (extensions.conf [queues] and
        [survey]): ``callback`` when Queue() returned unanswered (NoOp, then ``AGI(${AGI_SERVER}/callback,
        ${CHANNEL(linkedid)})``), ``survey`` when the agent hung up (option ``F(survey^s^1)``: the caller
        goes to [survey] s,1 ``AGI(${AGI_SERVER}/survey,${CHANNEL(linkedid)})``); then Hangup(). A caller
        dialled straight into a queue (no IVR) is hung up: that Queue() has nothing after it."""
        ivr, target = call.spec.ivr, self.agi
        if ivr is None or target is None:
            self._end_caller_after_queue(call)
            return
        chan = call.channel
        if script == "survey":
            chan.context, chan.exten, chan.priority = "survey", "s", 1
            # the member is on the caller's channel as app_queue put it at connect (setinterfacevar,
            # see _connect_vars): the survey AGI reads MEMBERINTERFACE / MEMBERNAME from there
            keys = ivr.survey
        else:
            chan.priority = 5
            keys = ivr.callback
        url = AgiTarget(target.host, target.port, script)
        chan.application, chan.app_data = "AGI", f"{url.url},{chan.linkedid}"
        self._seq += 1
        agi = AgiCall(
            self,
            chan,
            keys or HANG_UP_AT_ONCE,
            url,
            thread_id=140306640029376 + self._seq * 512,
            args=(chan.linkedid,),
        )
        call.agi, call.done = agi, False  # the caller's hang-up now goes to the AGI

        async def walk() -> None:
            status = "FAILURE"
            try:
                status = await agi.run()
            finally:
                call.agi = None
                if task is not None:
                    self.agi_tasks.discard(task)
            self._setvar(chan, "AGISTATUS", status)
            if status == "HANGUP" and agi.gone.is_set():
                # the caller put the phone down in the AGI: as captured in the IVR, Cause 0 on the caller
                self.emit("SoftHangupRequest", "call,all", [*chan.snapshot(), ("Cause", "16")])
                call.done = True
                self._hangup(chan, 0)
                return
            self._end_caller_after_queue(call)

        task: asyncio.Task[None] | None = None
        task = asyncio.get_running_loop().create_task(walk())
        self.agi_tasks.add(task)

    def _end_caller_after_queue(self, call: Call) -> None:
        # the dialplan's last step (Hangup() after Queue() or the AGI): the channel is hung up normally
        chan = call.channel
        chan.priority = 6
        self.emit("SoftHangupRequest", "call,all", [*chan.snapshot(), ("Cause", "16")])
        call.done = True
        self._hangup(chan, 16)

    def _drop_channel(self, chan: Channel) -> None:
        self.emit("HangupRequest", "call,all", chan.snapshot())
        self._hangup(chan, 16)

    def check_empty(self, q: Queue) -> None:
        """leavewhenempty: callers not being rung leave when no usable member is left."""
        if not q.config.leavewhenempty or q.usable_members():
            return
        for entry in list(q.callers):
            call = entry.call
            assert isinstance(call, Call)
            if not call.legs and call.agent is None:
                self._exit_queue(call, "EXITEMPTY", "LEAVEEMPTY")

    # ---------------------------------------------------------------- ringing
    def dispatch(self, q: Queue) -> None:
        """Offer waiting callers to free members in queue order. app_queue's is_our_turn(): a caller may
        ring when fewer callers ahead of it are not already ringing than members are available (autofill;
        one at a time for ringall)."""
        now = self.now()
        ahead = 0
        for entry in list(q.callers):
            call = entry.call
            assert isinstance(call, Call)
            if call.done or call.agent is not None:
                continue
            if call.legs:
                continue  # pending: ringing callers do not count against the ones behind
            available = q.available_count()
            if ahead >= available:
                if entry.next_try <= now + 1e-9:
                    self._schedule_wrapup_wake(q)
                ahead += 1
                continue
            ahead += 1
            if entry.next_try > now + 1e-9:
                continue
            free = q.free_members(now)
            if not free:
                self._schedule_wrapup_wake(q)
                continue
            chosen = q.choose(free, self.rng)
            if q.config.strategy == "rrmemory":
                call.rr_after = q.rr_after(chosen[0])
            self._ring(call, q, chosen)

    def _schedule_wrapup_wake(self, q: Queue) -> None:
        now = self.now()
        ends = [
            m.device.last_call + q.config.wrapuptime
            for m in q.members
            if m.device.last_call and m.device.last_call + q.config.wrapuptime > now
        ]
        if not ends:
            return
        when = min(ends)
        if when in self._wakes.setdefault(q.name, set()):
            return  # one timer per instant is enough
        self._wakes[q.name].add(when)

        def wake() -> None:
            self._wakes[q.name].discard(when)
            self.dispatch(q)

        self.clock.call_later(when - now, wake)

    def _ring(self, call: Call, q: Queue, members: list[Member]) -> None:
        now = self.now()
        caller = call.channel
        legs = []
        for m in members:
            d = m.device
            agent = self._new_channel(
                m.interface,
                cid_num=d.number,
                cid_name=d.caller_id_name,
                context="from-internal",
                exten="s",
                linkedid=caller.linkedid,
            )
            agent.connected_num, agent.connected_name = caller.cid_num, caller.cid_name
            agent.application, agent.app_data = "AppDial", "(Outgoing Line)"
            self.emit("Newchannel", "call,all", agent.snapshot())
            agent.exten = q.name
            self.emit(
                "AgentCalled",
                "agent,all",
                [
                    *caller.snapshot(),
                    *agent.dest(),
                    ("Queue", q.name),
                    ("Interface", m.interface),
                    ("MemberName", m.name),
                ],
            )
            self.emit("DialBegin", "call,all", [*caller.snapshot(), *agent.dest(), ("DialString", d.number)])
            caller.connected_num, caller.connected_name = d.number, d.caller_id_name
            self.emit("NewConnectedLine", "call,all", caller.snapshot())
            agent.state = 5
            self.emit("Newstate", "call,all", agent.snapshot())
            self.emit("NewConnectedLine", "call,all", agent.snapshot())
            d.ringing += 1
            self._device_state(d)
            self.emit("DialState", "call,all", [*caller.snapshot(), *agent.dest(), ("DialStatus", "RINGING")])
            self._member_status(d)
            leg = Leg(
                m, agent, now, cdr_start=now if call.cdr_rows else caller.created, cdr_sequence=self._cdr_seq
            )
            self._cdr_seq += 1
            legs.append(leg)
            held_back = call.entry is not None and now < call.entry.joined + call.spec.no_answer_for
            answer = None if held_back else d.phone.draw_answer()
            if answer is not None and answer < q.config.timeout:
                self._later(answer, functools.partial(self.answer_leg, call, leg), leg.timers)
        call.legs = legs
        call.cdr_rows += 1
        timer = self.clock.call_later(q.config.timeout, lambda: self._ring_timeout(call, q))
        for leg in legs:
            leg.timers.append(timer)

    def answer(self, interface: str) -> bool:
        """Person-driven phone: the agent picks up the ringing call. False if nothing rings there."""
        for call in self.calls.values():
            for leg in call.legs:
                if leg.member.interface == interface:
                    self.answer_leg(call, leg)
                    return True
        return False

    def _store_rr(self, call: Call, q: Queue) -> None:
        if call.rr_after is not None:
            q.rr_next = call.rr_after
            call.rr_after = None

    def _ring_timeout(self, call: Call, q: Queue) -> None:
        if call.done or not call.legs or call.agent is not None:
            return
        self._store_rr(call, q)
        now = self.now()
        legs = list(call.legs)
        ms = round(q.config.timeout * 1000)
        for leg in legs:
            self.emit(
                "AgentRingNoAnswer",
                "agent,all",
                [
                    *call.channel.snapshot(),
                    *leg.channel.dest(),
                    ("Queue", q.name),
                    ("Interface", leg.member.interface),
                    ("MemberName", leg.member.name),
                    ("RingTime", str(ms)),
                ],
            )
            self.queue_log.write(now, call.channel.uniqueid, q.name, leg.member.name, "RINGNOANSWER", ms)
        for status in ("NOANSWER", "CANCEL"):
            for leg in legs:
                self.emit(
                    "DialEnd",
                    "call,all",
                    [*call.channel.snapshot(), *leg.channel.dest(), ("DialStatus", status)],
                )
        for leg in legs:
            for t in leg.timers:
                t.cancel()
        self._drop_legs(call)
        assert call.entry is not None
        call.entry.next_try = now + q.config.retry
        self.clock.call_later(q.config.retry, lambda: self.dispatch(q))
        self.check_empty(q)
        self.dispatch(q)

    def answer_leg(self, call: Call, leg: Leg) -> None:
        if call.done or leg not in call.legs:
            return
        q = call.queue
        assert q is not None and call.entry is not None
        now = self.now()
        caller, agent, m = call.channel, leg.channel, leg.member
        losers = [x for x in call.legs if x is not leg]
        self._store_rr(call, q)
        for x in call.legs:
            for t in x.timers:
                t.cancel()
        agent.state = 6
        self.emit("Newstate", "call,all", agent.snapshot())
        self.emit("DialEnd", "call,all", [*caller.snapshot(), *agent.dest(), ("DialStatus", "ANSWER")])
        for x in losers:
            for _ in range(2):
                self.emit(
                    "DialEnd", "call,all", [*caller.snapshot(), *x.channel.dest(), ("DialStatus", "CANCEL")]
                )
        self.emit("MusicOnHoldStop", "call,all", caller.snapshot())
        self._connect_vars(call, q, agent, m, now)
        m.device.ringing -= 1
        m.device.in_call = True
        m.in_call_here = True
        self._device_changed(m.device)
        if q.config.record:
            path = f"/var/spool/asterisk/monitor/{caller.uniqueid}.wav"
            self._setvar(caller, "MIXMONITOR_FILENAME", path)
            caller.recording = True
            self.emit("MixMonitorStart", "call,all", caller.snapshot())
        position = self._remove_from_queue(call)
        self.emit("QueueCallerLeave", "agent,all", self._leave_headers(call, q, position))
        self._setvar(caller, "QUEUEPOSITION", str(position))
        call.holdtime = whole_seconds(call.entry.joined, now)
        ringtime = whole_seconds(leg.started, now)
        self.emit(
            "AgentConnect",
            "agent,all",
            [
                *caller.snapshot(),
                *agent.dest(),
                ("Queue", q.name),
                ("Interface", m.interface),
                ("MemberName", m.name),
                ("HoldTime", str(call.holdtime)),
                ("RingTime", str(ringtime)),
            ],
        )
        self.queue_log.write(
            now, caller.uniqueid, q.name, m.name, "CONNECT", call.holdtime, agent.uniqueid, ringtime
        )
        call.legs = losers
        self._drop_legs(call, 26)
        call.agent = leg
        call.connected_at = now
        bridge = str(uuid.UUID(int=self.rng.getrandbits(128)))
        caller.bridge_id = agent.bridge_id = bridge
        bridge_headers: Headers = [
            ("BridgeUniqueid", bridge),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
        ]
        self.emit(
            "BridgeCreate",
            "call,all",
            [*bridge_headers, ("BridgeNumChannels", "0"), ("BridgeVideoSourceMode", "none")],
        )
        for n, chan in enumerate((agent, caller), start=1):
            self.emit(
                "BridgeEnter",
                "call,all",
                [
                    *bridge_headers,
                    ("BridgeNumChannels", str(n)),
                    ("BridgeVideoSourceMode", "none"),
                    *chan.snapshot(),
                ],
            )
        talk = m.device.phone.draw_talk()
        if talk is not None:
            self._later(talk, lambda: self._complete(call, "agent"), call.timers)
        if call.spec.talk is not None:
            self._later(call.spec.talk, lambda: self._complete(call, "caller"), call.timers)
        self.dispatch(q)

    def _connect_vars(self, call: Call, q: Queue, agent: Channel, m: Member, now: float) -> None:
        """app_queue at connect, before QueueCallerLeave: with ``setinterfacevar=yes`` the member's
        MEMBERINTERFACE … MEMBERREALTIME on the caller's channel, then the same on the agent's; with
        ``setqueueentryvar=yes`` QEHOLDTIME and QEORIGINALPOS, caller then agent (every capture, e.g.
        answered/: MEMBERCALLS/MEMBERLASTCALL are the member's figures before this call). The survey AGI
        after the call reads the member from these. Both default to yes when the queue's config does not
        say (deploy/asterisk/queues.conf sets them for every queue; of the lab's, only the member-less
        ``sales`` lacks them)."""
        assert call.entry is not None
        caller = call.channel
        if q.config.setinterfacevar:
            d = m.device
            member_vars = (
                ("MEMBERINTERFACE", m.interface),
                ("MEMBERNAME", m.name),
                ("MEMBERCALLS", str(d.calls_taken)),
                ("MEMBERLASTCALL", str(int(d.last_call))),
                ("MEMBERPENALTY", str(m.penalty)),
                ("MEMBERDYNAMIC", "1" if m.dynamic else "0"),
                ("MEMBERREALTIME", "0"),  # no realtime members here
            )
            for chan in (caller, agent):
                for variable, value in member_vars:
                    self._setvar(chan, variable, value)
        if q.config.setqueueentryvar:
            entry_vars = (
                ("QEHOLDTIME", str(whole_seconds(call.entry.joined, now))),
                ("QEORIGINALPOS", str(call.entry.original_position)),
            )
            for chan in (caller, agent):
                for variable, value in entry_vars:
                    self._setvar(chan, variable, value)

    def agent_hangup(self, interface: str) -> bool:
        """Person-driven: the agent hangs up the call in progress."""
        for call in self.calls.values():
            if call.agent is not None and not call.done and call.agent.member.interface == interface:
                self._complete(call, "agent")
                return True
        return False

    def _complete(self, call: Call, side: str, *, keep_caller: bool = False) -> None:
        if call.done or call.agent is None:
            return
        q = call.queue
        assert q is not None and call.entry is not None
        now = self.now()
        for t in call.timers:
            t.cancel()
        leg = call.agent
        caller, agent, m = call.channel, leg.channel, leg.member
        first, other = (agent, caller) if side == "agent" else (caller, agent)
        # Queue(…,F(survey^s^1)) of an IVR call: when the agent hangs up the caller goes on to the survey
        survey = side == "agent" and not keep_caller and call.spec.ivr is not None and self.agi is not None
        talk = whole_seconds(call.connected_at, now)
        if not keep_caller:
            self.emit("HangupRequest", "call,all", first.snapshot())
        self.emit(
            "AgentComplete",
            "agent,all",
            [
                *caller.snapshot(),
                *agent.dest(),
                ("Queue", q.name),
                ("Interface", m.interface),
                ("MemberName", m.name),
                ("HoldTime", str(call.holdtime)),
                ("TalkTime", str(talk)),
                ("Reason", side),
            ],
        )
        verb = "COMPLETEAGENT" if side == "agent" else "COMPLETECALLER"
        self.queue_log.write(
            now, caller.uniqueid, q.name, m.name, verb, call.holdtime, talk, call.entry.original_position
        )
        bridge_headers: Headers = [
            ("BridgeUniqueid", caller.bridge_id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
        ]
        for n, chan in ((1, first), (0, other)):
            self.emit(
                "BridgeLeave",
                "call,all",
                [
                    *bridge_headers,
                    ("BridgeNumChannels", str(n)),
                    ("BridgeVideoSourceMode", "none"),
                    *chan.snapshot(),
                ],
            )
        self.emit(
            "BridgeDestroy",
            "call,all",
            [*bridge_headers, ("BridgeNumChannels", "0"), ("BridgeVideoSourceMode", "none")],
        )
        q.completed += 1
        q.holdtime_total += call.holdtime
        q.talktime_total += talk
        if call.holdtime <= q.config.servicelevel:
            q.completed_in_sl += 1
        call.done = True
        call.outcome = f"complete{side}"
        call.agent = None
        d = m.device
        d.in_call = False
        m.in_call_here = False
        d.calls_taken += 1
        d.last_call = now
        if not survey:
            self.emit(
                "SoftHangupRequest",
                "call,all",
                [*(agent if keep_caller else other).snapshot(), ("Cause", "16")],
            )
        self._hangup(agent, 16)
        self._cdr_row(call, leg, now, "ANSWERED")
        self._device_changed(d)
        if survey:
            self._after_queue(call, "survey")
        elif not keep_caller:
            self._hangup(caller, 16)
        for queue in self.queues.values():
            if queue.member(d.interface) is not None:
                self._schedule_wrapup_wake(queue)
                self.dispatch(queue)

    # ---------------------------------------------------------------- members (AMI actions)
    def queue_add(
        self, queue: str, interface: str, name: str, penalty: int = 0, paused: bool = False, reason: str = ""
    ) -> Member:
        q = self.queues[queue]
        device = self.devices.get(interface) or self.add_device(interface, name)
        m = Member(
            device,
            name or interface,
            penalty,
            dynamic=True,
            paused=paused,
            paused_reason=reason if paused else "",
            login_time=int(self.now()),
            ringinuse=q.config.ringinuse,
        )
        q.members.append(m)
        self.emit("QueueMemberAdded", "agent,all", self._member_headers(q, m))
        self.queue_log.write(self.now(), "MANAGER", q.name, interface, "ADDMEMBER", "")
        self.dispatch(q)
        return m

    def queue_remove(self, queue: str, interface: str) -> None:
        q = self.queues[queue]
        m = q.member(interface)
        assert m is not None
        q.members.remove(m)
        self.emit("QueueMemberRemoved", "agent,all", self._member_headers(q, m))
        self.queue_log.write(self.now(), "MANAGER", q.name, interface, "REMOVEMEMBER", "")
        self.check_empty(q)

    def queue_pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> int:
        """Pause/unpause in one queue or (queue None) in all; returns how many memberships changed."""
        targets = [
            q for q in self.queues.values() if (queue is None or q.name == queue) and q.member(interface)
        ]
        if not targets:
            return 0
        now = self.now()
        if queue is None:
            name = targets[0].member(interface).name  # type: ignore[union-attr]
            self.queue_log.write(
                now, "NONE", "NONE", name, "PAUSEALL" if paused else "UNPAUSEALL", reason if paused else ""
            )
        for q in targets:
            m = q.member(interface)
            assert m is not None
            m.paused = paused
            m.paused_reason = reason if paused else ""
            if paused:
                m.last_pause = int(now)
            self.emit("QueueMemberPause", "agent,all", self._member_headers(q, m))
            self.queue_log.write(
                now, "NONE", q.name, m.name, "PAUSE" if paused else "UNPAUSE", m.paused_reason
            )
        for q in targets:
            if paused:
                self.check_empty(q)
            else:
                self.dispatch(q)
        return len(targets)

    def queue_penalty(self, interface: str, penalty: int, queue: str | None = None) -> int:
        targets = [
            q for q in self.queues.values() if (queue is None or q.name == queue) and q.member(interface)
        ]
        for q in targets:
            m = q.member(interface)
            assert m is not None
            m.penalty = penalty
            self.emit("QueueMemberPenalty", "agent,all", self._member_headers(q, m))
            self.queue_log.write(self.now(), "NONE", q.name, interface, "PENALTY", penalty)
            self.dispatch(q)
        return len(targets)

    def queue_ringinuse(self, interface: str, ringinuse: bool, queue: str | None = None) -> int:
        targets = [
            q for q in self.queues.values() if (queue is None or q.name == queue) and q.member(interface)
        ]
        for q in targets:
            m = q.member(interface)
            assert m is not None
            m.ringinuse = ringinuse
            self.emit("QueueMemberRinginuse", "agent,all", self._member_headers(q, m))
            self.queue_log.write(self.now(), "NONE", q.name, interface, "RINGINUSE", int(ringinuse))
        return len(targets)

    def set_reachable(self, interface: str, reachable: bool) -> None:
        """The phone's contact stops (or starts again) answering qualify OPTIONS."""
        d = self.devices[interface]
        d.reachable = reachable
        word = "Reachable" if reachable else "Unreachable"
        self.emit(
            "PeerStatus", "system,all", [("ChannelType", "PJSIP"), ("Peer", interface), ("PeerStatus", word)]
        )
        aor = d.number
        self.emit(
            "ContactStatus",
            "system,all",
            [
                ("URI", f"sip:{aor}@127.0.0.1:5060"),
                ("ContactStatus", word),
                ("AOR", aor),
                ("EndpointName", aor),
                ("RoundtripUsec", "768" if reachable else "0"),
            ],
        )
        for q in self.queues.values():
            m = q.member(interface)
            if m is not None:
                self.emit("QueueMemberStatus", "agent,all", self._member_headers(q, m))
        self.emit(
            "DeviceStateChange", "call,all", [("Device", interface), ("State", DEVICE_STATE_NAME[d.status])]
        )
        for q in self.queues.values():
            (self.dispatch if reachable else self.check_empty)(q)

    # ---------------------------------------------------------------- channels (AMI actions)
    def getvar(self, chan: Channel | None, variable: str) -> str:
        """Channel variable, global, or the few dialplan functions clients use."""
        if variable == "EPOCH":
            return str(int(self.now()))
        if chan is None:
            return self.globals.get(variable, "")
        functions = {
            "CALLERID(num)": chan.cid_num,
            "CALLERID(name)": chan.cid_name,
            "CHANNEL(uniqueid)": chan.uniqueid,
            "CHANNEL(linkedid)": chan.linkedid,
        }
        if variable in functions:
            return functions[variable]
        return chan.variables.get(variable, self.globals.get(variable, ""))

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(name)

    def call_of(self, chan: Channel) -> Call | None:
        return self.calls.get(chan.linkedid)

    def hangup_channel(self, chan: Channel) -> None:
        if self.spying(chan):
            # as captured for the AMI Hangup of a spying supervisor: ChanSpyStop → SoftHangupRequest → Hangup
            self._stop_spies(chan)
            self.emit("SoftHangupRequest", "call,all", [*chan.snapshot(), ("Cause", "16")])
            self._hangup(chan, 16)
            return
        call = self.call_of(chan)
        if call is not None and not call.done:
            if chan is call.channel:
                self.caller_hangup(call)
                return
            if call.agent is not None and chan is call.agent.channel:
                self._complete(call, "agent")
                return
        self._drop_channel(chan)

    def redirect(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        """AMI Redirect of the caller out of the queue bridge: the queue call ends as Reason caller."""
        call = self.call_of(chan)
        if call is not None and call.agent is not None and chan is call.channel:
            self._complete(call, "caller", keep_caller=True)
        chan.context, chan.exten, chan.priority = context, exten, priority
        chan.application, chan.app_data, chan.bridge_id = "", "", ""
        self.emit(
            "Newexten",
            "dialplan,all",
            [*chan.snapshot(), ("Extension", exten), ("Application", "Dial"), ("AppData", "")],
        )
        target = next((q for q in self.queues.values() if exten in (q.name, q.config.exten)), None)
        if target is not None and call is not None:
            call.done = False
            call.agent = None
            chan.context, chan.exten, chan.priority = "queues", target.name, 4
            self._join(call, target)

    def originate(
        self,
        channel: str,
        *,
        timeout_ms: int,
        on_result: Callable[[Headers], None],
        context: str,
        exten: str,
        cid_num: str,
        cid_name: str,
        application: str = "",
        data: str = "",
        variables: dict[str, str] | None = None,
    ) -> None:
        """Async Originate: ring ``channel``; the OriginateResponse headers are passed to ``on_result``.
        An Originate asking for ChanSpy (see ``spy_request``) starts spying once the supervisor answers; a
        target with no channel fails the Originate (Reason 0) when the supervisor would have answered."""
        spy = spy_request(application, data, context, exten, variables or {})
        # Asterisk names the application instead of context/exten in the response of an application Originate
        where: Headers = (
            [("Application", application), ("Data", data)]
            if application
            else [
                ("Context", context),
                ("Exten", exten),
            ]
        )
        device = self.devices.get(channel)
        answer: float | None = 1.0
        busy = False
        if device is not None:
            busy = device.status != DeviceStatus.NOT_INUSE
            answer = None if busy else (1.0 if device.phone.manual else device.phone.draw_answer())
        timeout = timeout_ms / 1000.0

        def done() -> None:
            spyee = self._spy_target(spy[0]) if spy is not None else None
            if answer is not None and answer <= timeout and (spy is None or spyee is not None):
                chan = self._new_channel(
                    channel,
                    cid_num=cid_num or "<unknown>",
                    cid_name=cid_name or "<unknown>",
                    context=context,
                    exten=exten,
                    state=6,
                )
                self.emit("Newchannel", "call,all", chan.snapshot())
                if device is not None:
                    chan.device = device.interface
                    device.in_call = True
                    self._device_changed(device)
                if spy is not None and spyee is not None:
                    chan.connected_num, chan.connected_name = chan.cid_num, chan.cid_name
                    chan.application, chan.app_data = "ChanSpy", f"{spy[0]},{spy[1]}"
                on_result(
                    [
                        ("Response", "Success"),
                        ("Channel", chan.name),
                        *where,
                        ("Reason", "4"),
                        ("Uniqueid", chan.uniqueid),
                        ("CallerIDNum", chan.cid_num),
                        ("CallerIDName", chan.cid_name),
                    ]
                )
                if spy is not None and spyee is not None:
                    # the capture: ChanSpyStart ~0.1 s after the OriginateResponse
                    self.clock.call_later(0.1, functools.partial(self._start_spy, chan, spyee, spy[1]))
            else:
                missing = spy is not None and spyee is None and answer is not None and answer <= timeout
                on_result(
                    [
                        ("Response", "Failure"),
                        ("Channel", channel),
                        *where,
                        ("Reason", "0" if busy or missing else "3"),
                        ("Uniqueid", "<unknown>"),
                        ("CallerIDNum", cid_num or "<unknown>"),
                        ("CallerIDName", cid_name or "<unknown>"),
                    ]
                )

        if busy:
            delay = 0.1  # the phone refuses at once (486 Busy Here): Reason 0
        else:
            delay = answer if answer is not None and answer <= timeout else timeout
        self.clock.call_later(delay, done)

    # ---------------------------------------------------------------- ChanSpy
    def _spy_target(self, target: str) -> Channel | None:
        """ChanSpy's target is a channel name or its prefix (``PJSIP/1002`` spies ``PJSIP/1002-00000001``)."""
        if not target:
            return None
        if target in self.channels:
            return self.channels[target]
        return next((c for c in self.channels.values() if c.name.startswith(target + "-")), None)

    def _spy_headers(self, session: SpySession) -> Headers:
        return [*session.spyer.snapshot("Spyer"), *session.spyee.snapshot("Spyee")]

    def _start_spy(self, spyer: Channel, spyee: Channel, options: str) -> None:
        if spyer.name not in self.channels or spyee.name not in self.channels:
            return
        session = SpySession(spyer, spyee, options)
        self.spies.append(session)
        self.emit("ChanSpyStart", "call,all", self._spy_headers(session))

    def _stop_spies(self, chan: Channel) -> None:
        """Either side hanging up ends the session (ChanSpyStop before that channel's Hangup)."""
        for session in list(self.spies):
            if chan is session.spyer or chan is session.spyee:
                self.spies.remove(session)
                self.emit("ChanSpyStop", "call,all", self._spy_headers(session))

    def spying(self, chan: Channel) -> bool:
        return any(s.spyer is chan for s in self.spies)
