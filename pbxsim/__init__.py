"""PBX simulator: stands in for Asterisk 22 (AMI + app_queue) in the demo, the tests and the benchmarks.

Owns: the clocks (clock.py: RealClock, VirtualClock), app_queue's model and strategies (queues.py), the call
engine that emits AMI events in Asterisk's order (engine.py), AMI frame encoding (frames.py), the AMI TCP
server (ami_server.py), the FastAGI client that walks the IVR (agi_client.py), queue_log/CDR/CEL writers
(writers.py), the seeded traffic model (traffic.py), the named scenarios (scenarios.py) and the public entry
points ``Simulator`` / ``run_simulator`` (simulator.py).

It plays the other side of ``acd``: it imports nothing of ours but ``core``'s plain helpers.

Scenarios ``answered``, ``abandoned``, ``priority``, ``penalty`` and ``ringall`` replay the fixture folders of
../shared/fixtures/asterisk (same per-call event types and queue_log as the captures); ``demo`` is seeded
traffic on three queues; ``idle`` is the lab's configuration with no calls.

The IVR (agi_client.py): given an AGI address (``Simulator(agi_address="host:port")``), callers with an IVR
script (``CallerSpec.ivr``; the demo's callers when ``demo_ivr`` describes the menu) dial the hotline and run
the dialplan's [from-pstn] (deploy/asterisk/extensions.conf): Answer, then a FastAGI conversation with the
server as Asterisk 22 holds it (the capture's header block and replies; AGIExecStart/End, DTMFBegin/End and
the VarSet of every SET VARIABLE; HANGUP + 511 when the caller leaves mid-command), VarSet AGISTATUS, then
Goto the queue in IVR_QUEUE with QUEUE_PRIO as the caller's queue priority (app_queue: higher first), or
hang up when it is empty. Callers without a script dial the queue's extension as before. Not modelled there:
PLAYBACKSTATUS VarSet. After Queue() the caller goes on as the dialplan says: to the [survey] AGI when the
agent hung up (Queue option F), to the call-back AGI when Queue() returned unanswered.

Left out on purpose (never emitted): RTCPSent/RTCPReceived; Newexten (except one on Redirect); most VarSet
noise (only QUEUE_PRIO, QUEUEPOSITION, QUEUESTATUS, MIXMONITOR_FILENAME, AGISTATUS, MEMBER* and QE* at
connect (setinterfacevar / setqueueentryvar) and those set by AGI or Setvar are sent: no SIPDOMAIN,
QUEUEWAIT*, DIALEDTIME*, ANSWEREDTIME*, ABANDONED, RTPAUDIOQOS*,
DIALEDPEERNUMBER); DeviceStateChange of the customers endpoint; NewCallerid; RequestBadFormat;
Unhold/BlindTransfer (no SIP REFER here); a Reload event only for ``Command: module reload
app_queue.so``. Not modelled: announcements, penaltymemberslimit, wrandom/rrordered, the ``wallboard``
user's limited rights, ``core restart``. cdr_csv rows are written per agent attempt (no rows for callers never
rung nor the post-Queue() Hangup rows). CEL (cel_custom) rows are derived from the emitted frames
(engine.CelTracker): CHAN_START, ANSWER, STREAM_BEGIN/END, BRIDGE_ENTER/EXIT, HANGUP, CHAN_END, LINKEDID_END;
no BLINDTRANSFER row; the two legs' end rows come agent first (Asterisk's order there is thread timing).

ChanSpy: an Originate with ``Application: ChanSpy`` + ``Data: <channel>,q[w|B]`` or the lab's ``Context:
supervisor`` + ``Exten: listen|whisper|barge`` + ``Variable: SPYTARGET=<channel>`` rings the supervisor and,
once answered, sends the OriginateResponse then (0.1 s later) ChanSpyStart; ChanSpyStop when either side hangs
up (the supervisor stays up when the spyee goes; spying the spyee's next call is not modelled). No Newexten,
DialBegin/DialState/DialEnd for that leg. A target with no channel: OriginateResponse Failure, Reason 0 (the
capture has no such case).
"""

from pbxsim.clock import RealClock, VirtualClock
from pbxsim.simulator import Simulator, run_simulator

__all__ = ["RealClock", "Simulator", "VirtualClock", "run_simulator"]
