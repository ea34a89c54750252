"""The simulator's AMI server: an asyncio TCP server that speaks like Asterisk 22's manager interface.

Banner, Login (FullyBooted + SuccessfulAuth), Logoff, Ping, the EventList actions (QueueStatus,
QueueSummary, CoreShowChannels), queue member actions, Originate/Redirect/Hangup, Setvar/Getvar,
MixMonitor*, Command; unknown actions and bad input answered with Asterisk's exact messages.

Each client has a bounded outgoing queue: a client that stops reading is dropped when it fills, so it can
never block the engine (which pushes events synchronously from its timers).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import Awaitable, Callable

from pbxsim.engine import Channel, Engine
from pbxsim.frames import BANNER, Headers, encode, event, parse_action

MAX_CLIENT_QUEUE = 10_000
MAX_ACTION_BYTES = 64 * 1024
TRUE = {"true", "yes", "1", "on", "y", "t"}


def _eventtv(now: float) -> str:
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


class AmiClient:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(MAX_CLIENT_QUEUE)
        self.authenticated = False
        self.events = True
        self.closed = False
        self.session_id = f"0x{id(self):x}"

    def send(self, data: bytes | None) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.drop()

    def send_frame(self, headers: Headers) -> None:
        self.send(encode(headers))

    def drop(self) -> None:
        """Forget a client that cannot keep up (or is gone)."""
        if self.closed:
            return
        self.closed = True
        self.server.clients.discard(self)
        self.writer.transport.abort()

    async def write_loop(self) -> None:
        try:
            while True:
                data = await self.queue.get()
                if data is None:
                    break
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.closed = True
            self.server.clients.discard(self)
            with contextlib.suppress(Exception):
                self.writer.close()


class AmiServer:
    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "admin",
        secret: str = "admin",
    ) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.clients: set[AmiClient] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[object]] = set()
        self._origin_seq = itertools.count()
        engine.listeners.append(self._broadcast)
        self.actions: dict[str, Callable[[AmiClient, dict[str, str]], Awaitable[None] | None]] = {
            "ping": self.a_ping,
            "logoff": self.a_logoff,
            "events": self.a_events,
            "queuestatus": self.a_queuestatus,
            "queuesummary": self.a_queuesummary,
            "coreshowchannels": self.a_coreshowchannels,
            "queueadd": self.a_queueadd,
            "queueremove": self.a_queueremove,
            "queuepause": self.a_queuepause,
            "queuepenalty": self.a_queuepenalty,
            "queuememberringinuse": self.a_ringinuse,
            "originate": self.a_originate,
            "redirect": self.a_redirect,
            "hangup": self.a_hangup,
            "setvar": self.a_setvar,
            "getvar": self.a_getvar,
            "mixmonitor": self.a_mixmonitor,
            "mixmonitormute": self.a_mixmonitormute,
            "stopmixmonitor": self.a_stopmixmonitor,
            "command": self.a_command,
        }

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.drop()
        if self._handlers:
            # aborted transports end each handler's read loop; let them finish rather than cancel them
            await asyncio.wait(list(self._handlers), timeout=2.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(ValueError):
            self.engine.listeners.remove(self._broadcast)

    def _broadcast(self, frame: Headers) -> None:
        data = encode(frame)
        for client in list(self.clients):
            if client.authenticated and client.events:
                client.send(data)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = AmiClient(self, reader, writer)
        self.clients.add(client)
        me = asyncio.current_task()
        if me is not None:
            self._handlers.add(me)
            me.add_done_callback(self._handlers.discard)
        writer_task = asyncio.ensure_future(client.write_loop())
        self._tasks.add(writer_task)
        writer_task.add_done_callback(self._tasks.discard)
        client.send(BANNER)
        buffer = b""
        try:
            while not client.closed:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buffer += chunk.replace(b"\r\n", b"\n")
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    if block.strip():
                        await self._dispatch(client, parse_action(block.decode("utf-8", "replace")))
                if len(buffer) > MAX_ACTION_BYTES:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            client.send(None)
            if client.closed:
                writer.transport.abort()

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _head(fields: dict[str, str], response: str = "Success") -> Headers:
        headers: Headers = [("Response", response)]
        if "ActionID" in fields:
            headers.append(("ActionID", fields["ActionID"]))
        return headers

    def ok(
        self,
        client: AmiClient,
        fields: dict[str, str],
        message: str | None = None,
        extra: Headers | None = None,
    ) -> None:
        headers = self._head(fields)
        if message is not None:
            headers.append(("Message", message))
        client.send_frame([*headers, *(extra or [])])

    def error(self, client: AmiClient, fields: dict[str, str], message: str) -> None:
        client.send_frame([*self._head(fields, "Error"), ("Message", message)])

    def _item(self, fields: dict[str, str], name: str, headers: Headers) -> Headers:
        # app_queue list items put ActionID last
        out: Headers = [("Event", name), *headers]
        if "ActionID" in fields:
            out.append(("ActionID", fields["ActionID"]))
        return out

    def _list_start(self, client: AmiClient, fields: dict[str, str], message: str) -> None:
        client.send_frame([*self._head(fields), ("EventList", "start"), ("Message", message)])

    def _list_end(self, client: AmiClient, fields: dict[str, str], name: str, count: int) -> None:
        headers: Headers = [("Event", name)]
        if "ActionID" in fields:
            headers.append(("ActionID", fields["ActionID"]))
        client.send_frame([*headers, ("EventList", "Complete"), ("ListItems", str(count))])

    # ------------------------------------------------------------ dispatch
    async def _dispatch(self, client: AmiClient, fields: dict[str, str]) -> None:
        action = fields.get("Action", "")
        key = action.lower()
        if key == "login":
            self.a_login(client, fields)
            return
        if not client.authenticated:
            self.error(client, fields, "Authentication Required")
            return
        handler = self.actions.get(key)
        if handler is None:
            self.error(
                client,
                fields,
                f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.",
            )
            return
        result = handler(client, fields)
        if result is not None:
            await result

    def a_login(self, client: AmiClient, fields: dict[str, str]) -> None:
        if fields.get("Username") != self.username or fields.get("Secret") != self.secret:
            self.error(client, fields, "Authentication failed")
            client.send(None)  # Asterisk closes the connection
            return
        client.authenticated = True
        now = self.engine.now()
        self.ok(client, fields, "Authentication accepted")
        uptime = str(int(now - self.engine.started))
        client.send_frame(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
        peer = client.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        client.send_frame(
            event(
                "SuccessfulAuth",
                "security,all",
                now,
                [
                    ("EventTV", _eventtv(now)),
                    ("Severity", "Informational"),
                    ("Service", "AMI"),
                    ("EventVersion", "1"),
                    ("AccountID", self.username),
                    ("SessionID", client.session_id),
                    ("LocalAddress", f"IPV4/TCP/{self.host}/{self.port}"),
                    ("RemoteAddress", f"IPV4/TCP/{peer[0]}/{peer[1]}"),
                    ("UsingPassword", "0"),
                    ("SessionTV", _eventtv(now)),
                ],
            )
        )

    def a_ping(self, client: AmiClient, fields: dict[str, str]) -> None:
        client.send_frame([*self._head(fields), ("Ping", "Pong"), ("Timestamp", f"{self.engine.now():.6f}")])

    def a_logoff(self, client: AmiClient, fields: dict[str, str]) -> None:
        client.send_frame([*self._head(fields, "Goodbye"), ("Message", "Thanks for all the fish.")])
        client.send(None)

    def a_events(self, client: AmiClient, fields: dict[str, str]) -> None:
        client.events = fields.get("EventMask", "on").lower() not in ("off", "none")
        self.ok(client, fields, "Events On" if client.events else "Events Off")

    def a_queuestatus(self, client: AmiClient, fields: dict[str, str]) -> None:
        now = self.engine.now()
        wanted_q, wanted_m = fields.get("Queue") or None, fields.get("Member") or None
        self._list_start(client, fields, "Queue status will follow")
        count = 0
        for q in self.engine.queues.values():
            if wanted_q and q.name != wanted_q:
                continue
            c = q.config
            perf = 100.0 * q.completed_in_sl / q.completed if q.completed else 0.0
            holdtime = int(q.holdtime_total / q.completed) if q.completed else 0
            talktime = int(q.talktime_total / q.completed) if q.completed else 0
            client.send_frame(
                self._item(
                    fields,
                    "QueueParams",
                    [
                        ("Queue", q.name),
                        ("Max", str(c.maxlen)),
                        ("Strategy", c.strategy),
                        ("Calls", str(len(q.callers))),
                        ("Holdtime", str(holdtime)),
                        ("TalkTime", str(talktime)),
                        ("Completed", str(q.completed)),
                        ("Abandoned", str(q.abandoned)),
                        ("ServiceLevel", str(c.servicelevel)),
                        ("ServicelevelPerf", f"{perf:.1f}"),
                        ("ServicelevelPerf2", f"{perf:.1f}"),
                        ("Weight", str(c.weight)),
                    ],
                )
            )
            count += 1
            for m in q.container_order():
                if wanted_m and wanted_m not in (m.interface, m.name):
                    continue
                headers = self.engine._member_headers(q, m)
                renamed = {"MemberName": "Name", "Interface": "Location"}
                items = [(renamed.get(k, k), v) for k, v in headers if k != "Ringinuse"]
                client.send_frame(self._item(fields, "QueueMember", items))
                count += 1
            if wanted_m:
                continue
            for pos, entry in enumerate(q.callers, start=1):
                chan = entry.call.channel  # type: ignore[attr-defined]
                client.send_frame(
                    self._item(
                        fields,
                        "QueueEntry",
                        [
                            ("Queue", q.name),
                            ("Position", str(pos)),
                            ("Channel", chan.name),
                            ("Uniqueid", chan.uniqueid),
                            ("CallerIDNum", chan.cid_num),
                            ("CallerIDName", chan.cid_name),
                            ("ConnectedLineNum", chan.connected_num.strip("<>")),
                            ("ConnectedLineName", chan.connected_name.strip("<>")),
                            ("Wait", str(int(now - entry.joined))),
                            ("Priority", str(entry.priority)),
                        ],
                    )
                )
                count += 1
        self._list_end(client, fields, "QueueStatusComplete", count)

    def a_queuesummary(self, client: AmiClient, fields: dict[str, str]) -> None:
        now = self.engine.now()
        self._list_start(client, fields, "Queue summary will follow")
        count = 0
        for q in self.engine.queues.values():
            if fields.get("Queue") and q.name != fields["Queue"]:
                continue
            waits = [now - e.joined for e in q.callers]
            client.send_frame(
                self._item(
                    fields,
                    "QueueSummary",
                    [
                        ("Queue", q.name),
                        ("LoggedIn", str(len(q.members))),
                        ("Available", str(len(q.free_members(now)))),
                        ("Callers", str(len(q.callers))),
                        ("HoldTime", str(int(q.holdtime_total / q.completed) if q.completed else 0)),
                        ("TalkTime", str(int(q.talktime_total / q.completed) if q.completed else 0)),
                        ("LongestHoldTime", str(int(max(waits)) if waits else 0)),
                    ],
                )
            )
            count += 1
        self._list_end(client, fields, "QueueSummaryComplete", count)

    def a_coreshowchannels(self, client: AmiClient, fields: dict[str, str]) -> None:
        now = self.engine.now()
        self._list_start(client, fields, "Channels will follow")
        count = 0
        for chan in list(self.engine.channels.values()):
            secs = int(now - chan.created)
            duration = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
            head: Headers = [("Event", "CoreShowChannel")]
            if "ActionID" in fields:
                head.append(("ActionID", fields["ActionID"]))
            client.send_frame(
                [
                    *head,
                    *chan.snapshot(),
                    ("Application", chan.application),
                    ("ApplicationData", chan.app_data),
                    ("Duration", duration),
                    ("BridgeId", chan.bridge_id),
                ]
            )
            count += 1
        self._list_end(client, fields, "CoreShowChannelsComplete", count)

    def a_queueadd(self, client: AmiClient, fields: dict[str, str]) -> None:
        queue, interface = fields.get("Queue", ""), fields.get("Interface", "")
        if not queue:
            self.error(client, fields, "'Queue' not specified.")
            return
        if not interface:
            self.error(client, fields, "'Interface' not specified.")
            return
        q = self.engine.queues.get(queue)
        if q is None:
            self.error(client, fields, "Unable to add interface to queue: No such queue")
            return
        if q.member(interface) is not None:
            self.error(client, fields, "Unable to add interface: Already there")
            return
        paused = fields.get("Paused", "false").lower() in TRUE
        self.ok(client, fields, "Added interface to queue")
        self.engine.queue_add(
            queue,
            interface,
            fields.get("MemberName", interface),
            int(fields.get("Penalty") or 0),
            paused,
            fields.get("Reason", ""),
        )

    def a_queueremove(self, client: AmiClient, fields: dict[str, str]) -> None:
        queue, interface = fields.get("Queue", ""), fields.get("Interface", "")
        if not queue or not interface:
            self.error(client, fields, "Need 'Queue' and 'Interface' parameters.")
            return
        q = self.engine.queues.get(queue)
        if q is None:
            self.error(client, fields, "Unable to remove interface from queue: No such queue")
            return
        m = q.member(interface)
        if m is None:
            self.error(client, fields, "Unable to remove interface: Not there")
            return
        if not m.dynamic:
            self.error(client, fields, "Unable to remove interface: Static member")  # not allowed in Asterisk
            return
        self.ok(client, fields, "Removed interface from queue")
        self.engine.queue_remove(queue, interface)

    def a_queuepause(self, client: AmiClient, fields: dict[str, str]) -> None:
        interface, paused_s = fields.get("Interface", ""), fields.get("Paused", "")
        if not interface or not paused_s:
            self.error(client, fields, "Need 'Interface' and 'Paused' parameters.")
            return
        paused = paused_s.lower() in TRUE
        queue = fields.get("Queue") or None
        targets = [
            q
            for q in self.engine.queues.values()
            if (queue is None or q.name == queue) and q.member(interface)
        ]
        if not targets:
            self.error(client, fields, "Interface not found")
            return
        self.ok(
            client, fields, "Interface paused successfully" if paused else "Interface unpaused successfully"
        )
        self.engine.queue_pause(interface, paused, fields.get("Reason", ""), queue)

    def a_queuepenalty(self, client: AmiClient, fields: dict[str, str]) -> None:
        interface, penalty = fields.get("Interface", ""), fields.get("Penalty", "")
        if not interface or not penalty:
            self.error(client, fields, "Need 'Interface' and 'Penalty' parameters.")
            return
        queue = fields.get("Queue") or None
        if not penalty.lstrip("-").isdigit() or int(penalty) < 0:
            self.error(client, fields, "Invalid interface, queuename or penalty")
            return
        targets = [
            q
            for q in self.engine.queues.values()
            if (queue is None or q.name == queue) and q.member(interface)
        ]
        if not targets:
            self.error(client, fields, "Invalid interface, queuename or penalty")
            return
        self.ok(client, fields, "Interface penalty set successfully")
        self.engine.queue_penalty(interface, int(penalty), queue)

    def a_ringinuse(self, client: AmiClient, fields: dict[str, str]) -> None:
        interface, value = fields.get("Interface", ""), fields.get("RingInUse", "")
        if not interface or not value:
            self.error(client, fields, "Need 'Interface' and 'RingInUse' parameters.")
            return
        queue = fields.get("Queue") or None
        targets = [
            q
            for q in self.engine.queues.values()
            if (queue is None or q.name == queue) and q.member(interface)
        ]
        if not targets:
            self.error(client, fields, "Invalid interface, queuename, or ringinuse value")
            return
        self.ok(client, fields, "Interface ringinuse set successfully")
        self.engine.queue_ringinuse(interface, value.lower() in TRUE, queue)

    def _channel(
        self, client: AmiClient, fields: dict[str, str], missing: str, unknown: str
    ) -> Channel | None:
        name = fields.get("Channel", "")
        if not name:
            self.error(client, fields, missing)
            return None
        chan = self.engine.find_channel(name)
        if chan is None:
            self.error(client, fields, unknown.format(name=name))
        return chan

    async def a_originate(self, client: AmiClient, fields: dict[str, str]) -> None:
        channel = fields.get("Channel", "")
        if not channel:
            self.error(client, fields, "Channel not specified")
            return
        cid = fields.get("CallerID", "")
        cid_name, _, cid_num = cid.partition("<")
        cid_num, cid_name = cid_num.rstrip(">").strip(), cid_name.strip().strip('"')
        if not cid_num:
            cid_num, cid_name = cid_name, ""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Headers] = loop.create_future()

        def on_result(headers: Headers) -> None:
            if not result.done():
                result.set_result(headers)
            if asynchronous:
                head: Headers = [("ActionID", fields["ActionID"])] if "ActionID" in fields else []
                client.send_frame(
                    event("OriginateResponse", "call,all", self.engine.now(), [*head, *headers])
                )

        asynchronous = fields.get("Async", "false").lower() in TRUE
        self.engine.originate(
            channel,
            timeout_ms=int(fields.get("Timeout") or 30000),
            on_result=on_result,
            context=fields.get("Context", ""),
            exten=fields.get("Exten", ""),
            cid_num=cid_num,
            cid_name=cid_name,
            application=fields.get("Application", ""),
            data=fields.get("Data", ""),
            variables=dict(
                item.partition("=")[::2] for item in fields.get("Variable", "").split(",") if "=" in item
            ),
        )
        if asynchronous:
            self.ok(client, fields, "Originate successfully queued")
            return
        headers = await result
        if dict(headers).get("Response") == "Success":
            self.ok(client, fields, "Originate successfully queued")
        else:
            self.error(client, fields, "Originate failed")

    def a_redirect(self, client: AmiClient, fields: dict[str, str]) -> None:
        chan = self._channel(client, fields, "Channel not specified", "Channel does not exist: {name}")
        if chan is None:
            return
        self.ok(client, fields, "Redirect successful")
        self.engine.redirect(
            chan, fields.get("Context", ""), fields.get("Exten", ""), int(fields.get("Priority") or 1)
        )

    def a_hangup(self, client: AmiClient, fields: dict[str, str]) -> None:
        chan = self._channel(client, fields, "No channel specified", "No such channel")
        if chan is None:
            return
        self.ok(client, fields, "Channel Hungup")
        self.engine.hangup_channel(chan)

    def a_setvar(self, client: AmiClient, fields: dict[str, str]) -> None:
        variable = fields.get("Variable", "")
        if not variable:
            self.error(client, fields, "No variable specified")
            return
        if fields.get("Channel"):
            chan = self._channel(client, fields, "", "Channel not found")
            if chan is None:
                return
            self.ok(client, fields, "Variable Set")
            self.engine._setvar(chan, variable, fields.get("Value", ""))
        else:
            self.engine.globals[variable] = fields.get("Value", "")
            self.ok(client, fields, "Variable Set")

    def a_getvar(self, client: AmiClient, fields: dict[str, str]) -> None:
        variable = fields.get("Variable", "")
        if not variable:
            self.error(client, fields, "No variable specified")
            return
        chan: Channel | None = None
        if fields.get("Channel"):
            chan = self._channel(client, fields, "", "No such channel")
            if chan is None:
                return
        value = self.engine.getvar(chan, variable)
        client.send_frame([*self._head(fields), ("Variable", variable), ("Value", value)])

    def a_mixmonitor(self, client: AmiClient, fields: dict[str, str]) -> None:
        chan = self._channel(client, fields, "No channel specified", "No such channel")
        if chan is None:
            return
        self.ok(client, fields)
        path = fields.get("File") or f"{chan.uniqueid}.wav"
        if not path.startswith("/"):
            path = f"/var/spool/asterisk/monitor/{path}"
        self.engine._setvar(chan, "MIXMONITOR_FILENAME", path)
        chan.recording = True
        self.engine.emit("MixMonitorStart", "call,all", chan.snapshot())

    def a_mixmonitormute(self, client: AmiClient, fields: dict[str, str]) -> None:
        chan = self._channel(client, fields, "No channel specified", "No such channel")
        if chan is None:
            return
        self.ok(client, fields)
        state = "1" if fields.get("State", "1").lower() in TRUE else "0"
        self.engine.emit(
            "MixMonitorMute",
            "call,all",
            [*chan.snapshot(), ("Direction", fields.get("Direction", "both")), ("State", state)],
        )

    def a_stopmixmonitor(self, client: AmiClient, fields: dict[str, str]) -> None:
        chan = self._channel(client, fields, "No channel specified", "No such channel")
        if chan is None:
            return
        self.ok(client, fields)
        chan.recording = False
        self.engine.emit("MixMonitorStop", "call,all", chan.snapshot())

    def a_command(self, client: AmiClient, fields: dict[str, str]) -> None:
        command = " ".join(fields.get("Command", "").split())
        if command == "core show version":
            lines = ["Asterisk 22.10.1 (pbxsim) built by pbxsim"]
        elif command in ("module reload app_queue.so", "module reload app_queue"):
            lines = ["Module 'app_queue.so' reloaded successfully."]
        elif command.startswith("queue show"):
            lines = []
            for q in self.engine.queues.values():
                lines.append(
                    f"{q.name} has {len(q.callers)} calls (max unlimited) in '{q.config.strategy}' strategy "
                    f"(0s holdtime, 0s talktime), W:{q.config.weight}, C:{q.completed}, A:{q.abandoned}, "
                    f"SL:0.0%, SL2:0.0% within {q.config.servicelevel}s"
                )
        else:
            lines = [
                f"No such command '{command}' (type 'core show help {command}' for other possible commands)"
            ]
        self.ok(client, fields, "Command output follows", [("Output", line) for line in lines])
        if lines and lines[0].startswith("Module 'app_queue.so'"):
            self.engine.emit("Reload", "system,all", [("Module", "app_queue.so"), ("Status", "0")])
