from server.tag_watcher import Change, diff


def test_diff_reports_added_moved_and_removed():
    old = {
        ("m", "alias", "Production"): "1",
        ("m", "alias", "candidate"): "2",
        ("m", "tag", "team"): "ml",
    }
    new = {
        ("m", "alias", "Production"): "2",
        ("m", "tag", "team"): "ml",
        ("m", "tag", "owner"): "ana",
    }
    assert diff(old, new) == [
        Change("m", "alias", "Production", "1", "2"),
        Change("m", "alias", "candidate", "2", None),
        Change("m", "tag", "owner", None, "ana"),
    ]


def test_no_change_no_event():
    state = {("m", "alias", "Production"): "1"}
    assert diff(state, dict(state)) == []
