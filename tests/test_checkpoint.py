"""Model checkpoints (scorer/checkpoint.py): versioned, signed, never unpickled unless verified."""

import json
import logging
import pickle
import random

import pytest

from scorer import checkpoint, keys
from scorer.model import NAMES, AbandonModel

KEY = checkpoint.signing_key("test-secret")


PAYMENT_FAILED = NAMES.index("payment_failed")


def snap(rng: random.Random) -> list[float]:
    """Synthetic features (scorer.model.values), some of them 0 as most of a session's are."""
    return [rng.choice((0.0, rng.uniform(0, 3))) for _ in NAMES]


def trained(examples: int = 40, seed: int = 1) -> AbandonModel:
    rng = random.Random(seed)
    model = AbandonModel()
    for _ in range(examples):
        example = snap(rng)
        model.learn_values(example, example[PAYMENT_FAILED] > 0)
    return model


def learn_more(model: AbandonModel, examples: int) -> None:
    rng = random.Random(model.learned)
    for _ in range(examples):
        model.learn_values(snap(rng), rng.random() < 0.5)


class Evil:
    """Unpickling this creates the file at ``path``: what an attacker would put in Redis."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_save_then_load_scores_the_same(redis):
    """A loaded checkpoint is the same model: same scores, same learned count, its metadata."""
    model = trained()
    assert checkpoint.save(redis, model, KEY) == 1
    loaded, info = checkpoint.load(redis, KEY)
    rng = random.Random(99)
    probes = [snap(rng) for _ in range(10)]
    assert model.score_values(probes[0]) is not None
    assert [loaded.score_values(p) for p in probes] == [model.score_values(p) for p in probes]
    assert loaded.learned == 40
    assert info["version"] == 1 and info["learned"] == 40 and info["format"] == checkpoint.FORMAT
    assert "signature" not in info


def test_load_of_nothing_is_none(redis):
    assert checkpoint.load(redis, KEY) is None
    assert checkpoint.history(redis) == []


def test_versions_increase_and_only_the_last_are_kept(redis):
    """Seven saves: versions 1..7, the last KEEP (5) kept, older pickles deleted from Redis."""
    model = AbandonModel()
    versions = []
    for _ in range(7):
        learn_more(model, 1)
        versions.append(checkpoint.save(redis, model, KEY))
    assert versions == [1, 2, 3, 4, 5, 6, 7]
    assert [m["version"] for m in checkpoint.history(redis)] == [7, 6, 5, 4, 3]
    assert [m["learned"] for m in checkpoint.history(redis)] == [7, 6, 5, 4, 3]
    assert sorted(int(v) for v in redis.hkeys(keys.MODEL_PICKLE)) == [3, 4, 5, 6, 7]
    assert sorted(int(v) for v in redis.hkeys(keys.MODEL_META)) == [3, 4, 5, 6, 7]
    assert checkpoint.load(redis, KEY)[1]["version"] == 7


def test_tampered_pickle_is_never_unpickled(redis, tmp_path, caplog, monkeypatch):
    """A pickle replaced in Redis by one that would create a file: the file is not created,
    pickle.loads never sees those bytes, the error names the version, the previous one is loaded."""
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Evil(control))).close()
    assert control.exists()  # the payload does what it says when unpickled

    checkpoint.save(redis, trained(40), KEY)
    checkpoint.save(redis, trained(45), KEY)
    target = tmp_path / "owned"
    evil = pickle.dumps(Evil(target))
    redis.hset(keys.MODEL_PICKLE, "2", evil)
    unpickled = []
    real_loads = pickle.loads
    monkeypatch.setattr(checkpoint.pickle, "loads", lambda data: unpickled.append(data) or real_loads(data))

    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        model, info = checkpoint.load(redis, KEY)

    assert not target.exists()
    assert evil not in unpickled and len(unpickled) == 1
    assert info["version"] == 1 and model.learned == 40
    assert "model checkpoint v2: signature does not verify" in caplog.text


def test_one_changed_byte_is_refused(redis, caplog):
    checkpoint.save(redis, trained(), KEY)
    blob = bytearray(redis.hget(keys.MODEL_PICKLE, "1"))
    blob[len(blob) // 2] ^= 1
    redis.hset(keys.MODEL_PICKLE, "1", bytes(blob))
    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        assert checkpoint.load(redis, KEY) is None
    assert "model checkpoint v1: signature does not verify" in caplog.text


def test_metadata_moved_to_another_version_is_refused(redis, caplog):
    """Signed metadata: an old checkpoint copied over a newer version's slot does not verify there."""
    checkpoint.save(redis, trained(40), KEY)
    checkpoint.save(redis, trained(45), KEY)
    meta = json.loads(redis.hget(keys.MODEL_META, "1"))
    meta["version"] = 2
    redis.hset(keys.MODEL_META, "2", json.dumps(meta))
    redis.hset(keys.MODEL_PICKLE, "2", redis.hget(keys.MODEL_PICKLE, "1"))
    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        assert checkpoint.load(redis, KEY)[1]["version"] == 1
    assert "model checkpoint v2: signature does not verify" in caplog.text


def test_checkpoint_signed_with_another_key_is_refused(redis, caplog):
    checkpoint.save(redis, trained(), checkpoint.signing_key("another-secret"))
    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        assert checkpoint.load(redis, KEY) is None
    assert "model checkpoint v1: signature does not verify" in caplog.text


def test_unknown_format_is_skipped(redis, caplog, monkeypatch):
    """A checkpoint a newer Handrail wrote (format 2), though well signed, is skipped for the older one."""
    checkpoint.save(redis, trained(40), KEY)
    monkeypatch.setattr(checkpoint, "FORMAT", 2)
    checkpoint.save(redis, trained(45), KEY)
    monkeypatch.setattr(checkpoint, "FORMAT", 1)
    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        assert checkpoint.load(redis, KEY)[1]["version"] == 1
    assert "model checkpoint v2: unknown format 2" in caplog.text


def test_unreadable_metadata_is_skipped(redis, caplog):
    checkpoint.save(redis, trained(), KEY)
    redis.hset(keys.MODEL_META, "1", b"not json")
    with caplog.at_level(logging.ERROR, logger="handrail.scorer"):
        assert checkpoint.load(redis, KEY) is None
    assert "model checkpoint v1: unreadable metadata" in caplog.text


def test_signing_key_is_per_purpose_and_needs_a_secret():
    assert checkpoint.signing_key("s") == checkpoint.signing_key("s")
    assert checkpoint.signing_key("s") != checkpoint.signing_key("t")
    assert len(checkpoint.signing_key("s")) == 32
    with pytest.raises(ValueError):
        checkpoint.signing_key("")


def test_checkpointer_saves_every_n_and_on_shutdown(redis):
    """A save is due once `every` examples were learned since the last save; save() saves what is new, and
    nothing when nothing is; a restart restores the last save."""
    saver = checkpoint.Checkpointer(redis, KEY, every=10)
    model = saver.restore(AbandonModel)
    assert model.learned == 0 and saver.save(model) is None

    learn_more(model, 9)
    assert not saver.due(model)
    learn_more(model, 1)
    assert saver.due(model) and saver.save(model) == 1
    learn_more(model, 9)
    assert not saver.due(model)
    learn_more(model, 3)
    assert saver.due(model) and saver.save(model) == 2
    learn_more(model, 4)
    assert saver.save(model) == 3
    assert saver.save(model) is None
    assert [m["learned"] for m in checkpoint.history(redis)] == [26, 22, 10]

    restarted = checkpoint.Checkpointer(redis, KEY, every=10)
    again = restarted.restore(AbandonModel)
    assert again.learned == 26
    assert restarted.save(again) is None  # nothing new: no copy pushes older versions out
    learn_more(again, 9)
    assert not restarted.due(again)
