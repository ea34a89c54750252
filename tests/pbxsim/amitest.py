"""A deliberately tiny AMI reader for the simulator's tests: it plays the client side, independent of acd's
parser. Frames are ordered (key, value) lists so header order can be compared with the captures."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

# CI clones main with shared/ beside it, as in the work tree
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asterisk"

Frame = list[tuple[str, str]]


def split_frames(data: bytes) -> tuple[str | None, list[Frame]]:
    """(banner, frames) of raw AMI bytes."""
    text = data.decode("utf-8")
    banner = None
    if text.startswith("Asterisk Call Manager/"):
        banner, _, text = text.partition("\r\n")
    frames: list[Frame] = []
    for block in text.split("\r\n\r\n"):
        if not block:
            continue
        frame: Frame = []
        for line in block.split("\r\n"):
            key, _, value = line.partition(": ")
            frame.append((key, value))
        frames.append(frame)
    return banner, frames


def get(frame: Frame, key: str) -> str | None:
    return next((v for k, v in frame if k == key), None)


def kind(frame: Frame) -> str:
    return get(frame, "Event") or f"Response:{get(frame, 'Response')}"


def capture(folder: str, name: str = "ami.txt") -> list[Frame]:
    return split_frames((FIXTURES / folder / name).read_bytes())[1]


class Client:
    """A raw TCP AMI client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.raw = b""

    @classmethod
    async def connect(cls, port: int, *, rcvbuf: int | None = None) -> Client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # a small window so that a client that stops reading backs up quickly
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        client = cls(reader, writer)
        client.raw = await asyncio.wait_for(reader.readline(), 5)
        return client

    async def send(self, **fields: str) -> None:
        self.writer.write(("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode())
        await self.writer.drain()

    async def frame(self, wait: float = 5.0) -> Frame:
        data = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), wait)
        self.raw += data
        return split_frames(data)[1][0]

    async def until(self, predicate_kind: str, wait: float = 5.0) -> list[Frame]:
        """Frames up to and including the first of this kind."""
        out = []
        while True:
            f = await self.frame(wait)
            out.append(f)
            if kind(f) == predicate_kind:
                return out

    async def login(self, username: str = "admin", secret: str = "admin") -> list[Frame]:
        await self.send(Action="Login", ActionID="lab-001", Username=username, Secret=secret)
        return [await self.frame() for _ in range(3)]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
