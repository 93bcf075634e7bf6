"""Re-encode a screen recording with stretches blacked out and silenced (H.264 via libx264, Opus), keeping its PTS.

A file cut short by a crash (or damaged mid-way) is decoded as far as it goes: what decodes is redacted and written,
and the cut is reported, the way the capture reader keeps every complete line before a torn one.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder.capture.redact import RedactionError

if TYPE_CHECKING:
    from recorder.capture.redact import Redaction, Timeline

VIDEO_CODEC, AUDIO_CODEC = "libx264", "libopus"
X264_OPTIONS = {"preset": "veryfast", "crf": "23", "bf": "0"}  # no B-frames: packets keep presentation order
OPUS_RATE = 48_000
MAX_REPORTED = 5  # decode errors listed one by one; the rest only counted
CUT_SLACK_S = 2.0  # media ending this much before frames.jsonl does means the file was cut


class _Encoder:
    """The output file: one encoder per input stream, a black frame reused for every blanked one."""

    def __init__(self, out: Any, vin: Any | None, ain: Any | None):
        self.out: Any = out
        self.video: Any = None
        self.audio: Any = None
        self._black: Any = None
        if vin is not None:
            rate = vin.average_rate or vin.guessed_rate or 30
            self.video = out.add_stream(VIDEO_CODEC, rate=rate, options=dict(X264_OPTIONS))
            self.video.width, self.video.height = vin.codec_context.width, vin.codec_context.height
            self.video.pix_fmt = "yuv420p"
            self.video.codec_context.time_base = Fraction(1, 1000)  # the MKV's own clock: variable frame timing kept
        if ain is not None:
            self.audio = out.add_stream(AUDIO_CODEC, rate=OPUS_RATE)
            self.audio.codec_context.layout = "mono" if ain.codec_context.channels == 1 else "stereo"
            self.audio.codec_context.format = "flt"  # libopus takes packed samples only

    def black(self, like: Any) -> Any:
        """A black frame the size of `like`, stamped with its time."""
        import av
        import numpy as np

        if self._black is None or (self._black.width, self._black.height) != (like.width, like.height):
            rgb = np.zeros((like.height, like.width, 3), dtype=np.uint8)
            self._black = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame = self._black
        frame.pts, frame.time_base = like.pts, like.time_base
        return frame

    def video_frame(self, frame: Any) -> None:
        """Encode and mux one video frame (an I-frame mark from the phone's encoder is dropped: x264 picks its own)."""
        from av.video.frame import PictureType

        if frame.format.name != "yuv420p" or (frame.width, frame.height) != (self.video.width, self.video.height):
            pts, base = frame.pts, frame.time_base
            frame = frame.reformat(width=self.video.width, height=self.video.height, format="yuv420p")
            frame.pts, frame.time_base = pts, base
        frame.pict_type = PictureType.NONE
        self.out.mux(self.video.encode(frame))

    def audio_frame(self, frame: Any) -> None:
        """Encode and mux one audio frame."""
        self.out.mux(self.audio.encode(frame))

    def flush(self) -> None:
        """Drain the encoders."""
        for stream in (self.video, self.audio):
            if stream is not None:
                self.out.mux(stream.encode(None))


def _silenced(frame: Any, timeline: Timeline, report: Redaction) -> Any:
    """The frame with every sample inside a blank set to zero (sample-exact at the edges)."""
    import av
    import numpy as np

    report.audio_samples += frame.samples
    if frame.samples == 0:
        return frame
    if frame.pts is None:  # cannot be placed on the timeline: silenced whole
        mask = np.ones(frame.samples, dtype=bool)
    else:
        mask = timeline.silence(float(frame.pts * frame.time_base), frame.samples, frame.sample_rate)
    if not mask.any():
        return frame
    report.audio_samples_silenced += int(mask.sum())
    data = frame.to_ndarray()
    if frame.format.is_planar:
        data[:, mask] = 0
    else:  # packed: channels interleaved along the only row
        data.reshape(-1, frame.layout.nb_channels)[mask] = 0
    out = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
    out.sample_rate, out.pts, out.time_base = frame.sample_rate, frame.pts, frame.time_base
    return out


def transcode(src: Path, dst: Path, timelines: tuple[Timeline, Timeline], report: Redaction,
              progress: Callable[[int], None] | None = None, expected_end_s: float | None = None) -> bool:
    """Write `src` to `dst` black in the picture's blanks and silent in the sound's; False when nothing decodes."""
    import av

    try:
        inp = av.open(str(src))
    except (av.FFmpegError, OSError) as err:
        report.problems.append(f"{src.name}: cannot be opened ({err}); nothing in it could be redacted, so it is not kept")
        return False
    with inp:
        vin = inp.streams.video[0] if inp.streams.video else None
        ain = inp.streams.audio[0] if inp.streams.audio else None
        if vin is None and ain is None:
            report.problems.append(f"{src.name}: holds no video or audio stream; not kept")
            return False
        try:
            with av.open(str(dst), "w", format="matroska") as out:
                encoder = _Encoder(out, vin, ain)
                last = _copy(inp, [s for s in (vin, ain) if s is not None], encoder, timelines, report, progress)
                encoder.flush()
        except (av.FFmpegError, ValueError) as err:
            raise RedactionError(f"{src}: could not be re-encoded to redact it ({err}); it is still the raw recording. "
                                 f"Check that PyAV has {VIDEO_CODEC} and {AUDIO_CODEC}, then run `personaact record "
                                 "process` on the trace, which redacts first") from err
    if expected_end_s is not None and (last is None or last < expected_end_s - CUT_SLACK_S):
        report.problems.append(f"{src.name}: the video ends at {last or 0.0:.1f} s but frames were seen until "
                               f"{expected_end_s:.1f} s; the file was cut short, the rest is missing")
    return True


def _copy(inp: Any, streams: list[Any], encoder: _Encoder, timelines: tuple[Timeline, Timeline], report: Redaction,
          progress: Callable[[int], None] | None) -> float | None:
    """Decode packet by packet, redact and re-encode; returns the last video time decoded (media seconds)."""
    import av

    errors, last = 0, None
    try:
        for packet in inp.demux(*streams):
            try:
                frames = packet.decode()
            except av.FFmpegError as err:
                errors += 1
                if errors <= MAX_REPORTED:
                    report.problems.append(f"{inp.name}: packet at {_seconds(packet)} s does not decode ({err}); skipped")
                continue
            for frame in frames:
                if packet.stream.type == "video":
                    t = _video(frame, encoder, timelines[0], report)
                    last = t if t is not None else last
                    if progress is not None:
                        progress(1)
                else:
                    encoder.audio_frame(_silenced(frame, timelines[1], report))
    except av.FFmpegError as err:
        report.problems.append(f"{inp.name}: reading stopped after {last or 0.0:.1f} s of video ({err}); "
                               "everything before it was redacted and kept")
    if errors > MAX_REPORTED:
        report.problems.append(f"{inp.name}: {errors - MAX_REPORTED} more packets did not decode")
    return last


def _video(frame: Any, encoder: _Encoder, timeline: Timeline, report: Redaction) -> float | None:
    report.video_frames += 1
    if frame.pts is None:  # cannot be placed on the timeline: not stored
        report.video_frames_blanked += 1
        return None
    t = float(frame.pts * frame.time_base)
    if timeline.blanked(t):
        report.video_frames_blanked += 1
        frame = encoder.black(frame)
    encoder.video_frame(frame)
    return t


def _seconds(packet: Any) -> str:
    return "?" if packet.pts is None or packet.time_base is None else f"{float(packet.pts * packet.time_base):.2f}"
