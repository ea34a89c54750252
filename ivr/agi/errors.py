"""Typed errors of the FastAGI protocol layer: what went wrong with the peer, never a bare exception."""

from __future__ import annotations


class AgiError(Exception):
    """Anything that ends or breaks an AGI exchange."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not AGI (garbage header, unparseable reply, oversize line)."""


class AgiConnectionLost(AgiError):
    """The peer closed the connection (EOF) before the exchange was complete."""


class AgiTimeout(AgiError):
    """The peer stayed silent longer than allowed (dead or stuck Asterisk, half-open TCP)."""


class AgiHangup(AgiError):
    """The channel is gone: ``result=-1``, an unsolicited ``HANGUP`` line or ``511`` on a dead channel."""


class AgiCommandError(AgiError):
    """Asterisk refused the command itself: ``510`` (unknown command) or ``520`` (usage)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
