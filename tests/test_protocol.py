"""The sans-IO protocol: framing, message validation, hello exchange, operation validation, TLS identities."""

from __future__ import annotations

import json

import pytest
from cryptography import x509

from guest.agents.results import AgentSpec, Operation
from guest.common import tlsauth
from guest.protocol.connection import Connection, Role
from guest.protocol.framing import FrameDecoder, FrameError, encode_frame
from guest.protocol.messages import Event, Hello, ProtocolError, Request, Response, decode, encode
from guest.protocol.operations import InvalidOperation, operation_from_args, operation_to_args


def test_frames_survive_any_split():
    data = encode_frame(b"first") + encode_frame(b"second" * 1000) + encode_frame(b"x")
    for step in (1, 3, 7, 4096):
        decoder = FrameDecoder()
        frames = []
        for i in range(0, len(data), step):
            frames += decoder.feed(data[i:i + step])
        assert frames == [b"first", b"second" * 1000, b"x"]
        assert not decoder.partial


def test_oversized_frame_is_refused_from_its_header_alone():
    decoder = FrameDecoder(limit=1000)
    with pytest.raises(FrameError, match="1001-byte frame, over the 1000-byte limit"):
        decoder.feed((1001).to_bytes(4, "big"))
    with pytest.raises(FrameError, match="exceeds"):
        encode_frame(b"x" * 1001, limit=1000)


def test_empty_frame_is_an_error():
    with pytest.raises(FrameError, match="empty frame"):
        FrameDecoder().feed(b"\0\0\0\0")


def test_partial_frame_is_reported():
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(b"hello")[:6]) == []
    assert decoder.partial


@pytest.mark.parametrize("message", [
    Hello((1,), "drover-guest 0.1.0", "guest1"),
    Request(5, "exec", {"resource": "web"}),
    Response(5, True, {"result": {"rc": 0}}),
    Response(6, False, error="nope"),
    Event("op_result", {"key": "web_monitor_10000"}),
])
def test_messages_round_trip(message):
    assert decode(encode(message)) == message


@pytest.mark.parametrize(("payload", "error"), [
    (b"\xff\xfe", "not JSON"),
    (b"{bad json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"type": "teapot"}', "unknown message type 'teapot'"),
    (b'{"type": "request", "id": true, "op": "ping", "args": {}}', "needs 'id' of type int"),
    (b'{"type": "request", "id": 0, "op": "ping", "args": {}}', "message id 0 out of range"),
    (b'{"type": "request", "id": 1, "op": "ping", "args": []}', "needs 'args' of type dict"),
    (b'{"type": "request", "id": 1, "op": "' + b"x" * 65 + b'", "args": {}}', "longer than 64"),
    (b'{"type": "hello", "versions": [], "software": "x", "node": "y"}', "list of protocol versions"),
    (b'{"type": "response", "id": 1, "ok": "yes", "result": {}}', "needs 'ok' of type bool"),
    (b"[" * 100000 + b"]" * 100000, "not"),
    (b'{"type": "request", "id": ' + b"9" * 5000 + b', "op": "ping", "args": {}}', "not JSON: Exceeds the limit"),
    (b'{"type": "hello", "versions": [' + b"9" * 4000 + b'], "software": "x", "node": "y"}',
     "list of protocol versions"),
])
def test_malformed_messages_are_protocol_errors(payload, error):
    with pytest.raises(ProtocolError, match=error):
        decode(payload)


def hello_exchange() -> tuple[Connection, Connection]:
    server = Connection(Role.SERVER, "drover-guest test", "guest1")
    client = Connection(Role.CLIENT, "drover test", "node1")
    assert client.receive(server.greeting())[0].node == "guest1"
    assert server.receive(client.hello_reply())[0].node == "node1"
    return server, client


def test_hello_exchange_then_requests_both_ways():
    server, client = hello_exchange()
    assert server.ready and client.ready and server.version == client.version == 1
    request_id, data = client.request("ping", {})
    (request,) = server.receive(data)
    assert request == Request(request_id, "ping", {})
    (response,) = client.receive(server.respond(request_id, {"pong": True}))
    assert response.result == {"pong": True}
    guest_request_id, data = server.request("cli", {"argv": ["status"]})
    assert client.receive(data)[0].op == "cli"
    assert server.receive(client.fail(guest_request_id, "denied"))[0].error == "denied"


def test_nothing_before_hello():
    server = Connection(Role.SERVER, "s", "g")
    other = Connection(Role.CLIENT, "c", "n")
    _, data = other.request("exec", {})
    with pytest.raises(ProtocolError, match="expected hello, got request"):
        server.receive(data)


def test_version_mismatch_is_explained():
    server = Connection(Role.SERVER, "s", "g", versions=(2, 3))
    client = Connection(Role.CLIENT, "c", "n")
    with pytest.raises(ProtocolError, match=r"peer speaks protocol versions \[2, 3\], this side speaks \[1\]"):
        client.receive(server.greeting())


def test_client_must_choose_exactly_one_version():
    server = Connection(Role.SERVER, "s", "g")
    with pytest.raises(ProtocolError, match="client chose protocol versions"):
        server.receive(encode_frame(encode(Hello((1, 2), "c", "n"))))


def test_response_to_unknown_request_and_second_hello():
    server, client = hello_exchange()
    with pytest.raises(ProtocolError, match="response to unknown request 99"):
        client.receive(server.respond(99, {}))
    with pytest.raises(ProtocolError, match="second hello"):
        server.receive(encode_frame(encode(Hello((1,), "c", "n"))))


OPERATION = Operation("web", AgentSpec("ocf", "apache", "heartbeat"), "monitor", 30000, 20000,
                      {"configfile": "/etc/httpd/conf/httpd.conf"}, {"target-role": "Started"})


def test_operation_round_trip():
    args = json.loads(json.dumps(operation_to_args(OPERATION)))
    assert operation_from_args(args) == OPERATION


@pytest.mark.parametrize(("change", "error"), [
    ({"provider": "../../../bin"}, "'provider' '../../../bin' has characters that are not allowed"),
    ({"type": "sh/x"}, "'type' 'sh/x' has characters"),
    ({"type": ".."}, "'type' '..' has characters"),
    ({"standard": "stonith"}, "unknown resource standard 'stonith'"),
    ({"action": "rm -rf"}, "unknown action"),
    ({"interval_ms": -1}, "'interval_ms' must be a whole number"),
    ({"timeout_ms": "20s"}, "'timeout_ms' must be a whole number"),
    ({"params": {"a=b": "x"}}, "params name 'a=b' has characters"),
    ({"params": {"a": "x\0y"}}, "without NUL"),
    ({"params": {"a": 5}}, "must be a string"),
    ({"resource": ""}, "'resource' must be a non-empty string"),
])
def test_hostile_operations_are_refused(change, error):
    args = operation_to_args(OPERATION) | change
    with pytest.raises(InvalidOperation, match=error):
        operation_from_args(args)


def test_identity_is_deterministic_and_key_specific():
    first = tlsauth.identity_from_authkey(b"k" * 4096)
    assert tlsauth.identity_from_authkey(b"k" * 4096) == first
    other = tlsauth.identity_from_authkey(b"k" * 4095)
    assert other.fingerprint != first.fingerprint
    assert other.certificate_der != first.certificate_der
    certificate = x509.load_der_x509_certificate(first.certificate_der)
    assert certificate.subject.rfc4514_string() == f"CN=drover cluster key {first.fingerprint}"
    assert certificate.issuer == certificate.subject
