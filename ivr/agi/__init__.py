"""Our own FastAGI protocol layer (not panoramisk's): header block, commands, replies, typed errors."""

from __future__ import annotations

from ivr.agi.errors import (
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from ivr.agi.reply import HANGUP_LINE, AgiReply, ReplyAssembler, parse_reply_lines, parse_status_line
from ivr.agi.session import AgiHeaders, AgiSession, Exchange, GetDataResult, quote, read_headers

__all__ = [
    "HANGUP_LINE",
    "AgiCommandError",
    "AgiConnectionLost",
    "AgiError",
    "AgiHangup",
    "AgiHeaders",
    "AgiProtocolError",
    "AgiReply",
    "AgiSession",
    "AgiTimeout",
    "Exchange",
    "GetDataResult",
    "ReplyAssembler",
    "parse_reply_lines",
    "parse_status_line",
    "quote",
    "read_headers",
]
