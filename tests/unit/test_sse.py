"""SSE framing must match the official server byte for byte (sse.py::json_to_sse in langgraph-api)."""

from runs.streams import sse


def test_frame_without_id_is_event_data_blank_line_with_crlf():
    assert sse.frame("values", b'{"a":1}') == b'event: values\r\ndata: {"a":1}\r\n\r\n'


def test_frame_with_id_puts_id_after_data():
    assert (
        sse.frame("updates", b"{}", "1724342400000-0") == b"event: updates\r\ndata: {}\r\nid: 1724342400000-0\r\n\r\n"
    )


def test_frame_encodes_python_values_as_compact_json():
    assert sse.frame("metadata", {"run_id": "r", "attempt": 1}) == (
        b'event: metadata\r\ndata: {"run_id":"r","attempt":1}\r\n\r\n'
    )


def test_newlines_in_event_and_id_are_removed_so_frames_cannot_be_forged():
    framed = sse.frame("values\r\nevent: evil", b"{}", "1-0\nid: 2-0")
    assert framed == b"event: valuesevent: evil\r\ndata: {}\r\nid: 1-0id: 2-0\r\n\r\n"


def test_newlines_in_raw_data_cannot_start_a_new_field():
    assert sse.frame("values", b'{\n"a": 1\r\n}') == b'event: values\r\ndata: {"a": 1}\r\n\r\n'


def test_heartbeat_is_the_official_comment():
    assert sse.HEARTBEAT == b": heartbeat\r\n\r\n"


def test_error_frame_carries_error_and_message():
    assert sse.error_frame("HTTPException", "404: Run not found") == (
        b'event: error\r\ndata: {"error":"HTTPException","message":"404: Run not found"}\r\n\r\n'
    )
