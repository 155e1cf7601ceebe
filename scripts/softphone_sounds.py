"""Write the browser phone's sounds (interaction_center/web/static/assets/sounds/*.wav).

Twilio's Voice SDK plays fifteen sounds (the ring of a call coming in, one going out, a
hang-up, and a tone for each key). Unless it is given each one, it fetches it from
Twilio's CDN, which the pages' Content-Security-Policy refuses and which this project never
loads from. These are made here rather than taken from anywhere: plain tones, 8 kHz mono,
the keys' the standard DTMF pairs. Run it again after changing it; the files are committed.

    python scripts/softphone_sounds.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOUNDS = ROOT / "interaction_center" / "web" / "static" / "assets" / "sounds"
RATE = 8000
LOUDNESS = 6000

# (low, high) Hz of each key (ITU-T Q.23); the SDK names * "s" and # "h".
DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "s": (941, 1209), "0": (941, 1336), "h": (941, 1477),
}  # fmt: skip

Part = tuple[tuple[float, ...], float]  # the frequencies sounded together (none: silence), seconds


def _samples(parts: list[Part]) -> bytes:
    frames = bytearray()
    for frequencies, seconds in parts:
        for n in range(round(RATE * seconds)):
            t = n / RATE
            value = sum(math.sin(2 * math.pi * f * t) for f in frequencies) / max(len(frequencies), 1)
            frames += struct.pack("<h", round(LOUDNESS * value))
    return bytes(frames)


def _write(name: str, parts: list[Part]) -> None:
    with wave.open(str(SOUNDS / f"{name}.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(_samples(parts))


def main() -> None:
    SOUNDS.mkdir(parents=True, exist_ok=True)
    # A double ring, then a pause: the SDK repeats it until the call is answered.
    ring = (400.0, 450.0)
    _write("incoming", [(ring, 0.4), ((), 0.2), (ring, 0.4), ((), 1.5)])
    _write("outgoing", [((480.0,), 0.2)])
    _write("disconnect", [((620.0,), 0.15), ((), 0.05), ((440.0,), 0.2)])
    for key, pair in DTMF.items():
        _write(f"dtmf{key}", [(tuple(float(f) for f in pair), 0.12)])


if __name__ == "__main__":
    main()
