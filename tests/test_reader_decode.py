"""Event semantics: scalars, tensors, histograms, text, hparams, session logs, oneof rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from event_builders import (
    f32,
    float_tensor,
    frame_records,
    header_event,
    histogram_event,
    metadata,
    scalar_event,
    session_start_event,
    shape,
    tensor_event,
)
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

from analyzer.reader import framing
from analyzer.reader.proto import Chunk, decode
from analyzer.reader.reference import read_bytes_reference
from analyzer.reader.tags import TagTable, factorize_spans

DBL_MAX = np.finfo(np.float64).max


def _decode(records: list[bytes], tags: TagTable | None = None) -> tuple[Chunk, TagTable]:
    tags = TagTable() if tags is None else tags
    data = frame_records(records)
    frames = framing.walk(data)
    chunk = decode(np.frombuffer(data, dtype=np.uint8), frames.starts, frames.lengths, tags)
    return chunk, tags


def _events(*events: event_pb2.Event) -> list[bytes]:
    return [e.SerializeToString() for e in events]


def _scalars(chunk: Chunk, tags: TagTable) -> list[tuple[str, int, float, float]]:
    return [
        (tags.names[t], s, w, v)
        for t, s, w, v in zip(
            chunk.scalar_tag.tolist(),
            chunk.scalar_step.tolist(),
            chunk.scalar_wall_time.tolist(),
            chunk.scalar_value.tolist(),
            strict=True,
        )
    ]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event_with_raw_values(step: int, *values: bytes) -> bytes:
    """An Event whose Summary holds these serialised Summary.Value messages, byte for byte."""
    summary = b"".join(_len_field(1, v) for v in values)
    return event_pb2.Event(step=step, wall_time=1.0).SerializeToString() + _len_field(5, summary)


def test_simple_values_are_float32_in_write_order() -> None:
    chunk, tags = _decode(
        _events(
            header_event(),
            scalar_event(0, 10.5, {"loss": 0.1, "acc": 1 / 3}),
            scalar_event(1, 11.5, {"loss": math.nan, "acc": math.inf}),
            scalar_event(-5, 12.5, {"loss": -math.inf, "big": 3.4e38}),
        )
    )
    got = _scalars(chunk, tags)
    assert got[:2] == [("loss", 0, 10.5, f32(0.1)), ("acc", 0, 10.5, f32(1 / 3))]
    assert got[2][:3] == ("loss", 1, 11.5)
    assert math.isnan(got[2][3])
    assert got[3:] == [("acc", 1, 11.5, math.inf), ("loss", -5, 12.5, -math.inf),
                       ("big", -5, 12.5, f32(3.4e38))]  # fmt: skip
    assert chunk.file_versions == ["brain.Event:2"]
    assert chunk.malformed == 0
    assert sorted(tags.names) == ["acc", "big", "loss"]


def test_steps_and_wall_times_at_the_extremes() -> None:
    chunk, tags = _decode(
        _events(
            scalar_event(2**63 - 1, 0.0, {"a": 1.0}),
            scalar_event(-(2**63), 1e300, {"a": 2.0}),
            event_pb2.Event(summary=summary_pb2.Summary(value=[{"tag": "a", "simple_value": 3}])),
        )
    )
    assert _scalars(chunk, tags) == [
        ("a", 2**63 - 1, 0.0, 1.0), ("a", -(2**63), 1e300, 2.0), ("a", 0, 0.0, 3.0),
    ]  # fmt: skip


def test_the_last_value_of_a_oneof_wins() -> None:
    simple = summary_pb2.Summary.Value(tag="x", simple_value=1.0).SerializeToString()
    tensor = summary_pb2.Summary.Value(tensor=float_tensor(2.0)).SerializeToString()
    records = [
        _event_with_raw_values(1, simple + tensor),
        _event_with_raw_values(2, tensor + simple),
    ]
    for record, expected in zip(records, ("tensor", "simple_value"), strict=True):
        value = event_pb2.Event.FromString(record).summary.value[0]
        assert value.WhichOneof("value") == expected  # protobuf's own reading
    chunk, tags = _decode(records)
    assert _scalars(chunk, tags) == [("x", 1, 1.0, 2.0), ("x", 2, 1.0, 1.0)]
    ref = read_bytes_reference(frame_records(records))
    assert ref.scalars.values.tolist() == [["x", 1, 1.0, 2.0], ["x", 2, 1.0, 1.0]]


def test_a_repeated_step_field_last_one_wins() -> None:
    record = (
        scalar_event(1, 1.0, {"x": 1}).SerializeToString()
        + event_pb2.Event(step=7).SerializeToString()
    )
    assert event_pb2.Event.FromString(record).step == 7
    chunk, tags = _decode([record])
    assert _scalars(chunk, tags) == [("x", 7, 1.0, 1.0)]


def test_tensor_scalars_follow_tensorproto_rules() -> None:
    def t(**kw: object) -> tensor_pb2.TensorProto:
        return tensor_pb2.TensorProto(**kw)

    cases = [
        (
            "content_wins",
            t(dtype=1, float_val=[9.0], tensor_content=np.float32(2.5).tobytes()),
            2.5,
        ),
        ("first_element", t(dtype=2, double_val=[1.5, 7.0]), 1.5),
        ("rank1", t(dtype=2, tensor_shape=shape(1), double_val=[-4.0]), -4.0),
        ("int8", t(dtype=6, int_val=[-100]), -100.0),
        ("uint16", t(dtype=17, int_val=[65535]), 65535.0),
        ("bool_false", t(dtype=10, bool_val=[False]), 0.0),
        ("half_bits", t(dtype=19, half_val=[int(np.float16(-0.5).view(np.uint16))]), -0.5),
        ("bf16_content", t(dtype=14, tensor_content=np.uint16(0xC040).tobytes()), -3.0),
    ]
    chunk, tags = _decode(_events(*(tensor_event(1, 1.0, n, tensor) for n, tensor, _ in cases)))
    assert _scalars(chunk, tags) == [(n, 1, 1.0, v) for n, _, v in cases]


@pytest.mark.parametrize(
    ("tensor", "plugin"),
    [
        (tensor_pb2.TensorProto(dtype=1, tensor_content=b"\x00\x00\x80"), "scalars"),  # 3 bytes
        (tensor_pb2.TensorProto(dtype=1, tensor_shape=shape(2), float_val=[1, 2]), "scalars"),
        (tensor_pb2.TensorProto(dtype=1, tensor_shape=shape(-1), float_val=[1]), "scalars"),
        (tensor_pb2.TensorProto(dtype=7, string_val=[b"1.0"]), "scalars"),  # a string
        (tensor_pb2.TensorProto(dtype=8, float_val=[1.0]), "scalars"),  # DT_COMPLEX64
        (float_tensor(1.0), "images"),  # another plugin's tensor
    ],
    ids=["short-content", "two-elements", "unknown-dim", "string", "complex", "other-plugin"],
)
def test_tensors_that_are_not_scalars(tensor: tensor_pb2.TensorProto, plugin: str) -> None:
    chunk, tags = _decode(_events(tensor_event(1, 1.0, "t", tensor, plugin)))
    assert chunk.scalar_tag.size == 0
    assert tags.other_points == [1]
    assert tags.other_kind == [plugin]


def test_plugin_metadata_is_remembered_from_the_first_value() -> None:
    rows = np.array([[0.0, 1.0, 5.0]])
    from tensorboard.util import tensor_util

    hist = tensor_util.make_tensor_proto(rows)
    tags = TagTable()
    first, _ = _decode(_events(tensor_event(1, 1.0, "h", hist, "histograms")), tags)
    # later chunks: no metadata, and even a conflicting plugin name later is ignored
    later, _ = _decode(
        _events(tensor_event(2, 2.0, "h", hist, None), tensor_event(3, 3.0, "h", hist, "scalars")),
        tags,
    )
    assert tags.plugin == ["histograms"]
    assert first.hist_step.tolist() == [1]
    assert later.hist_step.tolist() == [2, 3]
    assert [h.edges.tolist() for h in later.histograms] == [[0.0, 1.0]] * 2
    assert later.scalar_tag.size == 0


def test_the_first_metadata_in_file_order_wins_within_a_chunk() -> None:
    """Fields are scanned pass by pass (every Summary's first value, then its second...), so
    a tag's second value in event 1 is seen after its first value in event 2; the plugin must
    still come from the first one written."""
    first = event_pb2.Event(step=1)
    first.summary.value.add(tag="other", simple_value=1.0)
    first.summary.value.add(tag="t", tensor=float_tensor(1.0), metadata=metadata("histograms"))
    second = event_pb2.Event(step=2)
    second.summary.value.add(tag="t", tensor=float_tensor(2.0), metadata=metadata("scalars"))
    chunk, tags = _decode(_events(first, second))
    assert dict(zip(tags.names, tags.plugin, strict=True))["t"] == "histograms"
    assert _scalars(chunk, tags) == [("other", 1, 0.0, 1.0)]


def test_histogram_proto_like_tf1_writes_it() -> None:
    """TF1's buckets run from -DBL_MAX to DBL_MAX with empty buckets at the ends: they are
    dropped and min/max become the outer edges, as TensorBoard's data_compat does."""
    event = histogram_event(
        3, 4.0, "w", lo=-0.5, hi=2.0,
        limits=[-1.0, 0.0, 1.0, 2.5, DBL_MAX], counts=[0.0, 2.0, 0.0, 5.0, 0.0],
    )  # fmt: skip
    all_empty = histogram_event(4, 4.0, "w", lo=0.0, hi=0.0, limits=[1.0, DBL_MAX], counts=[0, 0])
    chunk, _ = _decode(_events(event, all_empty))
    assert chunk.hist_step.tolist() == [3, 4]
    assert chunk.hist_wall_time.tolist() == [4.0, 4.0]
    h = chunk.histograms[0]
    assert h.edges.tolist() == [-0.5, 0.0, 1.0, 2.0]
    assert h.counts.tolist() == [2.0, 0.0, 5.0]
    assert (h.num, h.min, h.max, h.sum, h.sum_squares) == (7.0, -0.5, 2.0, 1.5, 2.5)
    empty = chunk.histograms[1]
    assert empty.edges.size == empty.counts.size == 0
    # the reference reader agrees
    ref = read_bytes_reference(frame_records(_events(event, all_empty)))
    assert [r[3].tolist() for r in ref.histograms] == [[-0.5, 0.0, 1.0, 2.0], []]
    assert [r[4].tolist() for r in ref.histograms] == [[2.0, 0.0, 5.0], []]


def test_histogram_proto_with_unpacked_buckets_and_mismatched_lengths() -> None:
    # proto2-style unpacked repeated doubles: one field per element
    def fixed64(number: int, value: float) -> bytes:
        return bytes([number << 3 | 1]) + np.float64(value).tobytes()

    histo = (
        fixed64(1, 0.0) + fixed64(2, 3.0) + fixed64(3, 4.0)
        + fixed64(6, 1.0) + fixed64(6, 3.0) + fixed64(7, 1.0) + fixed64(7, 3.0)
    )  # fmt: skip
    value = _len_field(1, b"u") + _len_field(5, histo)
    mismatched = summary_pb2.Summary.Value(
        tag="m", histo=summary_pb2.HistogramProto(bucket_limit=[1.0, 2.0], bucket=[1.0])
    ).SerializeToString()
    chunk, tags = _decode([_event_with_raw_values(1, value, mismatched)])
    assert [tags.names[t] for t in chunk.hist_tag.tolist()] == ["u"]
    (h,) = chunk.histograms
    assert h.edges.tolist() == [0.0, 1.0, 3.0]
    assert h.counts.tolist() == [1.0, 3.0]


def test_text_summaries() -> None:
    text = tensor_pb2.TensorProto(dtype=7, string_val=["héllo".encode(), b"**world**"])
    not_text = tensor_pb2.TensorProto(dtype=1, float_val=[1.0])
    chunk, tags = _decode(
        _events(
            tensor_event(2, 5.0, "notes/text_summary", text, "text"),
            tensor_event(3, 6.0, "notes/text_summary", tensor_pb2.TensorProto(dtype=7), None),
            tensor_event(4, 7.0, "numbers", not_text, "text"),
        )
    )
    assert [(tags.names[t], s, w, x) for t, s, w, x in chunk.texts] == [
        ("notes/text_summary", 2, 5.0, "héllo\n**world**"),
        ("notes/text_summary", 3, 6.0, ""),
    ]
    assert chunk.scalar_tag.size == 0
    other = dict(zip(tags.names, tags.other_points, strict=True))
    assert other == {"notes/text_summary": 0, "numbers": 1}


def test_hparams_contents_are_kept_raw() -> None:
    event = event_pb2.Event(step=0)
    event.summary.value.add(
        tag="_hparams_/session_start_info",
        tensor=tensor_pb2.TensorProto(dtype=7, string_val=[b""]),
        metadata=metadata("hparams", b"\x01\x02\x03"),
    )
    chunk, tags = _decode(_events(event, event))
    assert chunk.hparams == [b"\x01\x02\x03", b"\x01\x02\x03"]
    assert tags.plugin == ["hparams"]


def test_session_starts_mark_their_position_among_the_points() -> None:
    rows = np.array([[0.0, 1.0, 5.0]])
    from tensorboard.util import tensor_util

    hist = tensor_util.make_tensor_proto(rows)
    chunk, _ = _decode(
        _events(
            session_start_event(0, 0.5),
            scalar_event(1, 1.0, {"a": 1, "b": 2}),
            tensor_event(1, 1.0, "h", hist, "histograms"),
            session_start_event(7, 8.5),
            scalar_event(7, 9.0, {"a": 3}),
            event_pb2.Event(step=9, session_log=event_pb2.SessionLog(status=2)),  # STOP
        )
    )
    assert chunk.session_starts == [(0, 0, 0, 0.5), (2, 1, 7, 8.5)]


def test_events_that_hold_no_points() -> None:
    graph = event_pb2.Event(step=0, graph_def=b"\x0a\x03abc")
    message = event_pb2.Event(log_message=event_pb2.LogMessage(level=1, message="hi"))
    meta = event_pb2.Event(meta_graph_def=b"\x00" * 50)
    chunk, tags = _decode(_events(graph, message, meta))
    assert chunk.scalar_tag.size == chunk.hist_tag.size == 0
    assert chunk.texts == chunk.hparams == chunk.session_starts == chunk.file_versions == []
    assert chunk.malformed == 0
    assert tags.names == []


def test_malformed_events_are_counted_and_skipped() -> None:
    good = scalar_event(1, 1.0, {"x": 1.0}).SerializeToString()
    broken_value = _event_with_raw_values(2, b"\x0a\x10short")  # the tag runs past the value
    chunk, tags = _decode([good, b"\xff\xff\xff", broken_value, good])
    assert chunk.malformed == 2
    assert _scalars(chunk, tags) == [("x", 1, 1.0, 1.0), ("x", 1, 1.0, 1.0)]


def test_factorize_spans() -> None:
    data = np.frombuffer(b"lossaccslossXYZaccs", dtype=np.uint8)
    start = np.array([0, 4, 8, 12, 15, 0, 3])
    end = np.array([4, 8, 12, 15, 19, 0, 3])
    codes, uniques = factorize_spans(data, start, end)
    strings = [data[s:e].tobytes() for s, e in zip(start, end, strict=True)]
    assert [uniques[c] for c in codes.tolist()] == strings
    assert sorted(uniques) == sorted(set(strings))
    assert len(uniques) == 4  # b"loss", b"accs", b"XYZ", b""


def test_unicode_and_long_tags() -> None:
    names = ["损失/训练", "a" * 300, "emoji 🚀", "a" * 299 + "b"]
    chunk, tags = _decode(_events(*(scalar_event(1, 1.0, {n: 1.0}) for n in names)))
    assert sorted(tags.names) == sorted(names)
    assert [tags.names[t] for t in chunk.scalar_tag.tolist()] == names
