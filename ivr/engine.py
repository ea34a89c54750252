"""The flow engine: walks a flow definition over one AGI session and fills the session record.

Menus and inputs retry with their "invalid" prompt and go to ``on_fail`` (an agent, in the default flow)
after too many tries; look-ups find the customer by caller number or typed id and answer complaint status
by case number; ``hours`` sends out-of-hours callers to a call-back request; ``route`` and
``transfer_to_agent`` set the channel variables the dialplan reads: IVR_QUEUE, QUEUE_PRIO (from the
customer's grade, see :data:`ivr.service.GRADE_PRIORITY`), CUSTOMER_ID (the customer code) and IVR_CHOICE.
With a ``wait_offer`` on that step, a caller facing a longer estimated wait than its threshold (see
:func:`ivr.service.estimate_wait`) may take a call-back instead: a request with reason ``wait_offer``,
requested at the moment they would have joined (the dialer serves requests oldest first, so they keep their
place), and the IVR ends without IVR_QUEUE (the dialplan hangs up).
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.clock import utcnow
from ivr.agi import AgiConnectionLost, AgiError, AgiHangup, AgiSession, AgiTimeout
from ivr.flows import (
    WEEKDAYS,
    CallbackStep,
    FlowDefinition,
    HangupStep,
    HoursStep,
    InputCheck,
    InputStep,
    LookupStep,
    LookupTarget,
    MenuStep,
    RouteStep,
    SayStep,
    SurveyStep,
    TransferToAgentStep,
    WaitOffer,
    complaint_status_prompt,
)
from ivr.models import CallbackReason, IvrOutcome
from ivr.service import CustomerInfo, LoadedFlow, SessionRecord
from ivr.store import IvrStore

log = logging.getLogger(__name__)


class FlowLoop(Exception):
    """The caller went round the flow more often than ``max_steps`` allows."""


def luhn_valid(digits: str) -> bool:
    """The Luhn check over the whole number (its last digit is the check digit)."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def case_digits_valid(digits: str) -> bool:
    """YYYYMMDD + 4-digit sequence, with a real calendar date."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def is_open(step: HoursStep, moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    if local.date() in step.holidays:
        return False
    ranges = step.weekly.get(WEEKDAYS[local.weekday()], [])
    now = local.time().replace(tzinfo=None)
    return any(begin <= now < end for begin, end in ranges)


class FlowRun:
    """One walk of one flow for one call."""

    def __init__(
        self,
        agi: AgiSession,
        flow: LoadedFlow,
        record: SessionRecord,
        store: IvrStore,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.agi = agi
        self.flow = flow
        self.definition: FlowDefinition = flow.definition
        self.record = record
        self.store = store
        self.zone = zone
        self.clock = clock
        self.customer: CustomerInfo | None = None
        self.values: dict[str, str] = {}
        self.tries: Counter[str] = Counter()
        self.self_served = False  # a self-service answer was given, or the survey was answered
        self.callback_left = False
        self._started = monotonic_time.monotonic()
        self.current_step: str | None = None

    # --- bookkeeping ----------------------------------------------------------------------------

    def _path(self, step_id: str, kind: str, result: str, value: str | None = None, **extra: Any) -> None:
        entry: dict[str, Any] = {"step": step_id, "kind": kind, "result": result}
        if value is not None:
            entry["input"] = value
        entry.update(extra)
        entry["ms"] = int((monotonic_time.monotonic() - self._started) * 1000)
        self.record.path.append(entry)

    def _path_end(self, result: str) -> None:
        """The step the call was in when it ended abnormally."""
        if self.current_step is not None:
            kind = self.definition.steps[self.current_step].kind
            self._path(self.current_step, kind, result)

    def _prompt(self, name: str) -> str:
        prefix = self.definition.prompt_dir.strip("/")
        return f"{prefix}/{name}" if prefix else name

    async def _set_customer(self, customer: CustomerInfo) -> None:
        self.customer = customer
        self.record.customer_id = customer.id
        await self.agi.set_variable("CUSTOMER_ID", customer.code)

    # --- the walk -------------------------------------------------------------------------------

    async def run(self) -> SessionRecord:
        """Walk the flow; never raises for AGI trouble (it ends up in the record's outcome and error)."""
        try:
            await self._walk()
        except AgiHangup:
            self._path_end("hangup")
            self.record.outcome = self._final_outcome(IvrOutcome.HANGUP)
        except AgiConnectionLost as exc:  # Asterisk closes the socket when the channel is gone
            self._path_end("hangup")
            self.record.outcome = self._final_outcome(IvrOutcome.HANGUP)
            self.record.error = f"connection lost: {exc}"
        except AgiTimeout as exc:
            self._path_end("timeout")
            self.record.outcome = IvrOutcome.ERROR
            self.record.error = f"timeout: {exc}"
        except (AgiError, FlowLoop) as exc:
            self._path_end("error")
            self.record.outcome = IvrOutcome.ERROR
            self.record.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.record.commands = len(self.agi.exchanges)
        return self.record

    def _final_outcome(self, otherwise: IvrOutcome) -> IvrOutcome:
        if self.record.outcome in (IvrOutcome.TO_QUEUE,) and self.record.queue:
            # the caller hung up after the queue was chosen (during the hold prompt): they left the IVR
            return IvrOutcome.HANGUP
        if self.self_served:
            return IvrOutcome.SELF_SERVICE
        if self.callback_left:
            return IvrOutcome.CALLBACK
        return otherwise

    async def _walk(self) -> None:
        if self.definition.answer:
            await self.agi.answer()
        self.current_step = None
        step_id: str | None = self.definition.start
        visits = 0
        while step_id is not None:
            visits += 1
            if visits > self.definition.max_steps:
                raise FlowLoop(f"more than {self.definition.max_steps} steps")
            step_id = await self._step(step_id)

    async def _step(self, step_id: str) -> str | None:
        step = self.definition.steps[step_id]
        self.current_step = step_id
        if isinstance(step, SayStep):
            await self.agi.stream_file(self._prompt(step.prompt))
            self._path(step_id, step.kind, "ok")
            return step.next
        if isinstance(step, MenuStep):
            return await self._menu(step_id, step)
        if isinstance(step, InputStep):
            return await self._input(step_id, step)
        if isinstance(step, LookupStep):
            return await self._lookup(step_id, step)
        if isinstance(step, HoursStep):
            return await self._hours(step_id, step)
        if isinstance(step, RouteStep | TransferToAgentStep):
            await self._route(step_id, step)
            return None
        if isinstance(step, CallbackStep):
            return await self._callback(step_id, step)
        if isinstance(step, SurveyStep):
            return await self._survey(step_id, step)
        if isinstance(step, HangupStep):
            if step.prompt:
                await self.agi.stream_file(self._prompt(step.prompt))
            self._path(step_id, step.kind, "ok")
            self.record.outcome = self._final_outcome(IvrOutcome.HANGUP)
            return None
        raise AssertionError(f"unknown step kind {step!r}")  # pragma: no cover - the union is closed

    async def _menu(self, step_id: str, step: MenuStep) -> str:
        options = {option.digit: option.next for option in step.options}
        captions = {option.digit: option.caption for option in step.options if option.caption}
        while True:
            if self.tries[step_id] > step.retries:
                self._path(step_id, step.kind, "too_many_tries")
                return step.on_fail
            self.tries[step_id] += 1
            got = await self.agi.get_data(self._prompt(step.prompt), step.timeout_ms, 1)
            digit = got.digits[:1]
            if digit in options:
                if digit in captions:  # what the key means, for the screen pop
                    self._path(step_id, step.kind, "ok", digit, caption=captions[digit])
                else:
                    self._path(step_id, step.kind, "ok", digit)
                if step.variable:
                    await self.agi.set_variable(step.variable, digit)
                    if step.variable == "IVR_CHOICE":
                        self.record.choice = digit
                return options[digit]
            self._path(step_id, step.kind, "invalid" if digit else "timeout", digit or None)
            if self.tries[step_id] > step.retries:
                continue  # the next round reports too_many_tries and leaves
            if step.invalid_prompt:
                await self.agi.stream_file(self._prompt(step.invalid_prompt))

    def _valid_input(self, step: InputStep, digits: str) -> bool:
        if not (step.min_digits <= len(digits) <= step.max_digits) or not digits.isdigit():
            return False
        if step.check is InputCheck.LUHN:
            return luhn_valid(digits)
        if step.check is InputCheck.CASE_NUMBER:
            return case_digits_valid(digits)
        return True

    async def _input(self, step_id: str, step: InputStep) -> str:
        while True:
            if self.tries[step_id] > step.retries:
                self._path(step_id, step.kind, "too_many_tries")
                return step.on_fail
            self.tries[step_id] += 1
            got = await self.agi.get_data(self._prompt(step.prompt), step.timeout_ms, step.max_digits)
            if self._valid_input(step, got.digits):
                self.values[step_id] = got.digits
                self._path(step_id, step.kind, "ok", got.digits)
                return step.next
            self._path(step_id, step.kind, "invalid" if got.digits else "timeout", got.digits or None)
            if self.tries[step_id] > step.retries:
                continue
            if step.invalid_prompt:
                await self.agi.stream_file(self._prompt(step.invalid_prompt))

    async def _lookup(self, step_id: str, step: LookupStep) -> str:
        typed = self.values.get(step.source or "", "")
        if step.target is LookupTarget.CUSTOMER_BY_CALLER:
            customer = (
                await self.store.customer_by_phone(self.agi.headers.callerid) if self.record.caller else None
            )
            if customer is None:
                self._path(step_id, step.kind, "missing", target=step.target.value)
                return step.missing
            await self._set_customer(customer)
            self._path(step_id, step.kind, "found", customer.code, target=step.target.value)
            return step.found
        if step.target is LookupTarget.CUSTOMER_BY_ID:
            customer = await self.store.customer_by_code(typed) if typed else None
            if customer is None:
                self._path(step_id, step.kind, "missing", typed or None, target=step.target.value)
                return step.missing
            await self._set_customer(customer)
            self._path(step_id, step.kind, "found", customer.code, target=step.target.value)
            return step.found
        status = await self.store.complaint_status(typed) if typed else None
        if status is None:
            self._path(step_id, step.kind, "missing", typed or None, target=step.target.value)
            return step.missing
        self.self_served = True
        self._path(step_id, step.kind, "found", status, target=step.target.value, case=typed)
        await self.agi.stream_file(self._prompt(complaint_status_prompt(status)))
        return step.found

    async def _hours(self, step_id: str, step: HoursStep) -> str:
        now = self.clock()
        if is_open(step, now, self.zone):
            self._path(step_id, step.kind, "open")
            return step.open
        self._path(step_id, step.kind, "closed")
        if step.callback_when_closed and self.record.caller:
            await self.store.add_callback_request(
                caller=self.record.caller,
                reason=CallbackReason.OUT_OF_HOURS,
                linkedid=self.record.linkedid,
                customer_id=self.customer.id if self.customer else None,
                queue=None,
                requested_at=now,
            )
            self.callback_left = True
            self.record.outcome = IvrOutcome.CALLBACK
        return step.closed

    async def _callback(self, step_id: str, step: CallbackStep) -> str:
        queue = await self.agi.get_variable("IVR_QUEUE")  # the queue the caller waited in
        if self.record.caller:
            await self.store.add_callback_request(
                caller=self.record.caller,
                reason=CallbackReason(step.reason),
                linkedid=self.record.linkedid,
                customer_id=self.customer.id if self.customer else None,
                queue=queue or None,
                requested_at=self.clock(),
            )
            self.callback_left = True
            self.record.outcome = IvrOutcome.CALLBACK
            self.record.queue = queue or None
            self._path(step_id, step.kind, "ok", queue or None)
        else:  # nobody to call back (withheld number)
            self._path(step_id, step.kind, "no_number")
        return step.next

    async def _survey(self, step_id: str, step: SurveyStep) -> str:
        # app_queue leaves the member on the caller's channel (setinterfacevar=yes); IVR_QUEUE is ours
        interface = await self.agi.get_variable("MEMBERINTERFACE")
        agent_name = await self.agi.get_variable("MEMBERNAME")
        queue = await self.agi.get_variable("IVR_QUEUE")
        self.record.queue = queue or None
        while True:
            if self.tries[step_id] > step.retries:
                self._path(step_id, step.kind, "too_many_tries")
                return step.on_fail
            self.tries[step_id] += 1
            got = await self.agi.get_data(self._prompt(step.prompt), step.timeout_ms, 1)
            if got.digits in ("1", "2", "3", "4", "5"):
                await self.store.add_survey_result(
                    score=int(got.digits),
                    linkedid=self.record.linkedid,
                    uniqueid=self.record.uniqueid,
                    caller=self.record.caller,
                    queue=queue,
                    agent_interface=interface,
                    agent_name=agent_name,
                    answered_at=self.clock(),
                )
                self.self_served = True
                self._path(step_id, step.kind, "ok", got.digits)
                return step.next
            self._path(step_id, step.kind, "invalid" if got.digits else "timeout", got.digits or None)
            if self.tries[step_id] <= step.retries and step.invalid_prompt:
                await self.agi.stream_file(self._prompt(step.invalid_prompt))

    async def _route(self, step_id: str, step: RouteStep | TransferToAgentStep) -> None:
        offer = step.wait_offer
        if offer is not None and self.record.caller and await self._wait_offer(step_id, step.queue, offer):
            return  # a call-back instead of the queue: no IVR_QUEUE, the dialplan hangs up
        await self.agi.set_variable("IVR_QUEUE", step.queue)
        self.record.queue = step.queue
        if self.customer is not None:
            priority = self.customer.queue_priority
            await self.agi.set_variable("QUEUE_PRIO", str(priority))
            self.record.queue_priority = priority
        self._path(step_id, step.kind, "ok", step.queue)
        self.record.outcome = IvrOutcome.TO_QUEUE
        if step.prompt:
            await self.agi.stream_file(self._prompt(step.prompt))
        await self.agi.verbose(f"IVR: to queue {step.queue}", 1)

    async def _wait_offer(self, step_id: str, queue: str, offer: WaitOffer) -> bool:
        """Tell a caller facing a long wait and offer a call-back; True when they took it."""
        now = self.clock()
        try:
            estimate = await self.store.estimate_wait(queue, now=now, zone=self.zone)
        except Exception:  # no estimate (database trouble) must not keep the caller from the queue
            log.exception("IVR %s: no wait estimate for %s", self.record.uniqueid, queue)
            return False
        if estimate.seconds <= offer.wait_over_s:
            return False
        figures = {"wait_s": estimate.seconds, "waiting": estimate.waiting, "agents": estimate.agents}
        try:
            await self.agi.stream_file(self._prompt(offer.estimate_prompt))
            await self.agi.say_number(estimate.minutes)
            await self.agi.stream_file(self._prompt(offer.minutes_prompt))
            got = await self.agi.get_data(self._prompt(offer.offer_prompt), offer.timeout_ms, 1)
        except AgiError:  # gone while hearing the offer: it was made, so the figures count it
            self._path(step_id, "wait_offer", "hung_up", None, **figures)
            raise
        digit = got.digits[:1]
        if digit != offer.offer_key:
            self._path(step_id, "wait_offer", "declined", digit or None, **figures)
            return False
        assert self.record.caller is not None  # checked by the caller of this method
        await self.store.add_callback_request(
            caller=self.record.caller,
            reason=CallbackReason.WAIT_OFFER,
            linkedid=self.record.linkedid,
            customer_id=self.customer.id if self.customer else None,
            queue=queue,
            requested_at=now,  # when they would have joined: their place among the requests
        )
        self.callback_left = True
        self.record.queue = queue
        self.record.outcome = IvrOutcome.CALLBACK
        self._path(step_id, "wait_offer", "accepted", digit, **figures)
        await self.agi.stream_file(self._prompt(offer.confirmed_prompt))
        return True
