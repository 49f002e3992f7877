"""The direct line to Redis of the collector and the scorer: right replies per thread, and it recovers by itself."""

import threading

import pytest
import redis as redis_lib

from tracker import wire

ECHO = "return {ARGV[1], redis.call('INCR', KEYS[1])}"


def test_a_script_answers_and_is_loaded_again_after_a_flush(redis):
    script = wire.Script(redis, ECHO)
    assert script(keys=["hr:test:n"], args=["first"]) == [b"first", 1]
    redis.script_flush()  # a restarted or flushed server no longer knows the script
    assert script(keys=["hr:test:n"], args=[7]) == [b"7", 2]


def test_a_connection_redis_closed_is_replaced_without_an_error(redis):
    script = wire.Script(redis, ECHO)
    script(keys=["hr:test:n"], args=["a"])
    killed = redis.client_kill_filter(_type="normal", skipme=True)
    assert killed >= 1
    assert script(keys=["hr:test:n"], args=["b"]) == [b"b", 2]


def test_each_thread_gets_its_own_replies(redis):
    script = wire.Script(redis, ECHO)
    wrong = []

    def work(thread: int):
        for n in range(200):
            reply = script(keys=["hr:test:n"], args=[f"{thread}-{n}"])
            if reply[0] != f"{thread}-{n}".encode():
                wrong.append(reply)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == [] and int(redis.get("hr:test:n")) == 1600


def test_an_unreachable_redis_is_a_connection_error(tmp_path):
    script = wire.Script(redis_lib.Redis.from_url(f"unix://{tmp_path}/nothing.sock"), ECHO)
    with pytest.raises(redis_lib.ConnectionError):
        script(keys=["k"], args=["x"])


def test_pack_is_the_redis_protocol():
    assert wire.pack(b"SET", b"k", b"caf\xc3\xa9") == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\ncaf\xc3\xa9\r\n"


def test_many_calls_go_in_one_round_trip_and_answer_in_order_also_after_a_flush(redis):
    script = wire.Script(redis, ECHO)
    redis.script_flush()
    assert script.many([(["hr:test:n"], [f"c{n}"]) for n in range(3)]) == [[b"c0", 1], [b"c1", 2], [b"c2", 3]]
    assert script.many([]) == []
    assert script.many([(["hr:test:n"], ["again"])]) == [[b"again", 4]]


def test_a_failing_call_among_many_raises_after_the_others_ran_and_the_line_stays_in_step(redis):
    script = wire.Script(redis, "if ARGV[1] == 'bad' then return redis.error_reply('bad call') end "
                                "return {ARGV[1], redis.call('INCR', KEYS[1])}")
    with pytest.raises(redis_lib.ResponseError, match="bad call"):
        script.many([(["hr:test:n"], ["a"]), (["hr:test:n"], ["bad"]), (["hr:test:n"], ["b"])])
    assert int(redis.get("hr:test:n")) == 2  # the calls around it ran
    assert script(keys=["hr:test:n"], args=["next"]) == [b"next", 3]  # its own answer, not a left-over one


def test_a_line_answers_plain_commands_with_the_parsers_reply_and_recovers_like_a_script(redis):
    line = wire.Line(redis)
    assert line.call(b"SET", "hr:test:k", 42) == b"OK"
    assert line.call(b"MGET", "hr:test:k", "hr:test:none") == [b"42", None]
    redis.client_kill_filter(_type="normal", skipme=True)
    assert line.call(b"INCR", "hr:test:k") == 43
    with pytest.raises(redis_lib.ResponseError, match="wrong number of arguments"):
        line.call(b"GET")
    assert line.call(b"GET", "hr:test:k") == b"43"  # still in step after an error


def test_a_command_is_packed_as_redis_py_packs_it():
    """Bytes, text (UTF-8), integers and floats as redis-py sends them; a bool as the integer it is."""
    parts = (b"EVALSHA", "ключ", b"\x00\xff", 0, -42, 2**70, 0.1, 1e20, "x" * 1000)
    assert wire.pack(*parts) == b"".join(redis_lib.connection.Connection().pack_command(*parts))
    assert wire.pack(b"SET", "k", True) == wire.pack(b"SET", "k", 1)
