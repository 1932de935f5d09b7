import pytest

from realname.liveness.actions import detect_actions
from realname.policy import load_policy
from tests.signal_fakes import track


@pytest.fixture(scope="module")
def actions_policy():
    live = load_policy().liveness
    assert live is not None
    return live.actions


def names(events) -> list[str]:
    return [e.action for e in events]


def test_when_eyes_never_close_then_no_blink(actions_policy) -> None:
    events, _ = detect_actions(track(noise=0.03), actions_policy)
    assert "blink" not in names(events)


def test_a_short_closure_is_a_blink_with_its_time(actions_policy) -> None:
    events, _ = detect_actions(track(blinks=(2.0,)), actions_policy)
    blinks = [e for e in events if e.action == "blink"]
    assert len(blinks) == 1
    assert 2.0 <= blinks[0].peak_s <= 2.25
    assert blinks[0].start_s <= blinks[0].peak_s <= blinks[0].end_s


def test_blinks_adapt_to_narrow_eyes(actions_policy) -> None:
    # Narrow eyes (EAR 0.18, where the canonical fixed 0.2 limit would see closure all the time).
    events, _ = detect_actions(track(ear=0.18, blinks=(1.0, 3.5)), actions_policy)
    assert names(events).count("blink") == 2


def test_long_closure_is_not_a_blink(actions_policy) -> None:
    events, _ = detect_actions(track(blinks=(2.0,), blink_s=1.5), actions_policy)
    assert "blink" not in names(events)


def test_a_shallow_dip_is_not_a_blink(actions_policy) -> None:
    events, _ = detect_actions(track(blinks=(2.0,), blink_depth=0.1), actions_policy)
    assert "blink" not in names(events)


def test_nose_toward_image_right_is_the_persons_own_left_turn(actions_policy) -> None:
    events, _ = detect_actions(track(turns=((1.0, 2.5, 25.0), (3.5, 5.0, -25.0))), actions_policy)
    turns = [e for e in events if e.action.startswith("turn")]
    assert [e.action for e in turns] == ["turn_left", "turn_right"]
    assert abs(turns[0].peak_s - 1.75) < 0.1 and abs(turns[1].peak_s - 4.25) < 0.1


def test_small_head_movements_are_not_turns(actions_policy) -> None:
    events, _ = detect_actions(track(turns=((1.0, 2.5, 6.0),), noise=0.02), actions_policy)
    assert not any(e.action.startswith("turn") for e in events)


def test_nod_and_open_mouth(actions_policy) -> None:
    events, _ = detect_actions(
        track(nods=((1.0, 2.0, -20.0),), mouth=((3.0, 3.8, 0.5),)), actions_policy
    )
    assert names(events) == ["nod", "open_mouth"]


def test_baseline_is_the_persons_resting_pose(actions_policy) -> None:
    # The whole clip is yawed by 8 degrees (camera off to the side): a turn is still measured
    # from the resting pose, not from zero.
    t = track(turns=((2.0, 3.0, 20.0),))
    shifted = type(t)(
        frames=tuple(
            type(f)(**{**{k: getattr(f, k) for k in f.__slots__}, "yaw": f.yaw + 8})
            for f in t.frames
        ),
        image_size=t.image_size,
        detections=t.detections,
    )
    events, base = detect_actions(shifted, actions_policy)
    assert base.yaw == pytest.approx(8, abs=0.5)
    assert names(events) == ["turn_left"]
