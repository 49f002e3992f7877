"""A real SMTP server (aiosmtpd) on a loopback port for the email tests: it keeps what it accepted, and
can answer given codes first or hold the first message (to kill the sender in the middle of it)."""

import asyncio
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.service import free_port


class Inbox:
    def __init__(self, replies=(), stall_first: bool = False):
        self.replies = list(replies)  # answered in turn to DATA before any is accepted, e.g. "451 4.3.0 later"
        self.stall_first = stall_first
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.messages = []  # accepted: email.message.EmailMessage
        self.recipients = []
        self.seen = 0  # messages that reached DATA, accepted or not

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        self.arrived.set()
        if self.replies:
            return self.replies.pop(0)
        if self.stall_first and self.seen == 1:
            # Held before it is taken; once the sender is gone, the server drops it, as one does.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            return "451 4.4.2 connection lost before the message was taken"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(envelope.rcpt_tos)
        return "250 2.0.0 OK"


@contextmanager
def smtp_inbox(replies=(), stall_first: bool = False):
    inbox = Inbox(replies, stall_first)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        inbox.url = f"smtp://127.0.0.1:{controller.port}"
        yield inbox
    finally:
        inbox.release.set()
        controller.stop()
