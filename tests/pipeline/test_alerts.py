from pipeline.alerts import Prepared, alert_row
from pipeline.records import CommentRecord, Label, Lineage, label_for


def _prepared() -> Prepared:
    record = CommentRecord(id="demo:7", source="demo", url="http://127.0.0.1/7", text="太差了！")
    return Prepared(record=record, lineage=Lineage(topic="comments", partition=2, offset=41),
                    raw=record.kafka_value(), clean_text="太差了!", tokens=["太差", "了", "!"],
                    keywords=[])


def test_threshold_is_inclusive() -> None:
    assert label_for(0.8, 0.8) is Label.NEGATIVE
    assert label_for(0.7999, 0.8) is Label.POSITIVE


def test_labels_name_their_class_index() -> None:
    assert (Label.NEGATIVE.index, Label.POSITIVE.index) == (1, 0)
    assert [Label.from_index(i) for i in (0, 1)] == [Label.POSITIVE, Label.NEGATIVE]


def test_negative_comment_becomes_a_row_with_lineage_and_model() -> None:
    row = alert_row(_prepared(), 0.93, model="lstm", model_version="lstm-1", threshold=0.8)
    assert (row.comment_id, row.label, row.score) == ("demo:7", "negative", 0.93)
    assert (row.kafka_partition, row.kafka_offset, row.model_version) == (2, 41, "lstm-1")
    assert row.as_dict()["raw_text"] == "太差了！"


def test_positive_comment_is_a_positive_row() -> None:
    # The store needs it to withdraw the alert of an earlier, negative version.
    row = alert_row(_prepared(), 0.2, model="lstm", model_version="1", threshold=0.8)
    assert (row.label, row.score, row.raw_text) == ("positive", 0.2, "太差了！")
