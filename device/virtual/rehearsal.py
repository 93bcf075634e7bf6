"""A recording rehearsal on the virtual phone: the scripted participant browses while the real recorder runs.

The recorder sees the phone only through the adb host protocol, uiautomator2, getevent and scrcpy, exactly as it
sees a real phone; the participant's ground truth is then compared with the Trace it produced.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.virtual.participant import ParticipantConfig, ScriptedParticipant, View, keyword_feed


@dataclass(frozen=True)
class RehearsalResult:
    """Where the trace went, the participant's ground truth, and the recorder's host-clock origin."""

    folder: Path
    views: list[View]
    origin: float
    status: Any
    problems: list[str]


def rehearse(out: Path, config: ParticipantConfig, time_scale: float = 4.0, hierarchy_interval_s: float = 0.15,
             media: bool = True, max_fps: int = 10, app: str = "douyin", voice: str = "auto") -> RehearsalResult:
    """Run the participant on a virtual phone while `Recorder` records into `out`."""
    from device.android import AndroidDevice
    from device.capture import PhoneCaptureSource
    from device.profiles import load_profile
    from device.scrcpy import ScrcpyOptions
    from device.virtual.phone import VirtualPhone
    from device.virtual.server import VirtualAdbServer
    from recorder.capture.recorder import RecordConfig, Recorder

    profile = load_profile(app)
    phone = VirtualPhone(keyword_feed(config.videos + 50, config.seed), profile, time_scale=time_scale, voice=voice)
    with VirtualAdbServer(phone) as server:
        device = AndroidDevice(phone.serial, adb_port=server.port, dump_timeout_s=2.0, dump_retries=2, call_timeout_s=20.0)
        device.connect()
        source = PhoneCaptureSource(device, profile.package, options=ScrcpyOptions(max_size=800, max_fps=max_fps))
        recorder = Recorder(source, profile, out, RecordConfig(
            participant="scripted-01", app=app, consent_note="scripted participant on the virtual phone (no person)",
            hierarchy_interval_s=hierarchy_interval_s, media=media, account_names=("scripted_me",)))
        recorder.start()
        participant = ScriptedParticipant(phone, config, out / "capture" / "ground_truth.jsonl")
        worker = threading.Thread(target=participant.run, name="participant", daemon=True)
        threading.Event().wait(0.5)  # let every stream come up, as a participant unlocks the phone after start
        worker.start()
        worker.join()
        threading.Event().wait(0.5)
        result = recorder.stop()
        device.close()
    return RehearsalResult(out, participant.views, recorder._origin, recorder.status, result.problems)
