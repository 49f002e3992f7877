"""The sessions this scorer wrote last, kept parsed between batches.

Parsing a session's stored JSON was the largest single cost of reading a batch (bench/scorer.py): a
2 KB state is some 150 Python objects. The scorer still reads every state of a batch with its MGET, and
takes the parsed copy only when the bytes Redis returned are the very bytes it wrote with that copy:
whoever else wrote the session since (another scorer, a deadline taken elsewhere, a test), the bytes
differ and the state is parsed afresh. A copy is taken out while its batch changes it and put back
when the batch is stored: a batch that fails leaves no changed copy behind to match the old bytes.
"""

import orjson


class Held:
    def __init__(self, size: int):
        self.size = size  # sessions kept at most, the least recently written dropped first
        self._entries: dict[str, tuple[bytes, dict]] = {}  # session key -> (bytes written, state)

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, name: str, raw: bytes | None) -> dict | None:
        """The state stored as ``raw`` (None: no session), parsed or the copy written as it."""
        found = self._entries.pop(name, None)
        if raw is None:
            return None
        if found is not None and found[0] == raw:
            return found[1]
        return orjson.loads(raw)

    def keep(self, name: str, raw: bytes, state: dict) -> None:
        """``state``, about to be written as ``raw``: not changed after this but through take."""
        self._entries[name] = (raw, state)
        if len(self._entries) > self.size:
            del self._entries[next(iter(self._entries))]
