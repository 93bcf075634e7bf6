"""Recorded simulated users: Traces with platform categories that a persona can be fitted on; resume never repeats."""

from recorder.store import read_trace
from sandbox.config import SandboxConfig
from sandbox.platform import Platform
from sandbox.traces import attach_user_traces, pick_trace_users, trace_users


def test_traced_users_have_platform_categories_and_fit_a_persona(tmp_path):
    from personas.policy.statistical import StatisticalPersonaModel

    paths = trace_users(SandboxConfig(users=60, creators=10, steps=6, write_logs=False, seed=3), 2, tmp_path)
    assert len(paths) == 2
    for path in paths:
        trace = read_trace(path)
        assert trace.header.recorded_by == "sandbox" and trace.header.ended_at is not None
        assert len(trace) == 6 * 5  # every step, every slate position (activity 1)
        assert all(s.category.source == "platform" and len(s.category.path) == 2 for s in trace.steps)
        assert [s.index for s in trace.steps] == list(range(len(trace)))
        assert all(a.appeared_at <= b.appeared_at for a, b in zip(trace.steps, trace.steps[1:]))
    model = StatisticalPersonaModel.fit(list(read_trace(paths[0]).steps), "sandbox-user")
    assert model is not None


def test_user_choice_is_seeded_and_a_resumed_run_does_not_repeat_steps(tmp_path):
    assert pick_trace_users(100, 5, 1).tolist() == pick_trace_users(100, 5, 1).tolist()
    config = SandboxConfig(users=40, creators=8, steps=4, write_logs=False, seed=1)
    first = Platform(config)
    recorder = attach_user_traces(first, 1, tmp_path)
    first.run(steps=3)
    recorder.close()
    second = Platform(config)  # replays steps 0-2 (same seed), then carries on
    again = attach_user_traces(second, 1, tmp_path)
    second.run(steps=4)
    trace = read_trace(again.close()[0])
    assert [s.extra["step"] for s in trace.steps] == sorted(s.extra["step"] for s in trace.steps)
    assert len(trace) == 4 * 5 and len({s.meta.video_id for s in trace.steps}) == 20
