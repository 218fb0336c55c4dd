#!/usr/bin/env python3
"""Checks a clean take holding the deterministic test signal (test-signal.h) against the gaps its
sidecar reports, independently of the exporter:
  gr-check-gaps.py TAKE.wav        (float32 WAV; sidecar ghostrec-<id>.json beside it)
Truth comes from the audio itself: channel 0 is the player's frame counter, channel 1 a hash of
it, so every frame says which frame of the signal it is. Between two runs of audio the counter
jumps by exactly the frames that were not captured. Prints one JSON line:
  frames, audio_frames, heard (counter span), gaps (reported), wav_gaps_match (the WAV's cue +
  ltxt regions labelled ghostrec-gap:CAUSE say the same), true_gaps (from the counter),
  duplicated, bad_frames, nonzero_in_gaps, exact (reported == true, nothing duplicated or bad).
A gap at the end of the file (the node went away) has no audio after it: it must hold zeros,
and it is exact when it starts right after the last audio frame. Exit 0 if exact."""
import json, os, struct, sys
from array import array

PERIOD = 8388608


def signal(n, ch):
    n %= PERIOD
    if ch == 0:
        return n / PERIOD - 0.5
    h = ((n + ch * 0x9E3779B9) * 2654435761) & 0xFFFFFFFF
    h ^= h >> 15
    return (h >> 9) / 8388608.0 - 0.5


def counter(x):
    v = (x + 0.5) * PERIOD
    if not (0 <= v < PERIOD) or v != int(v):
        return -1
    return int(v)


def read_wav(path):
    with open(path, 'rb') as f:
        b = f.read()
    if b[:4] not in (b'RIFF', b'RF64') or b[8:12] != b'WAVE':
        raise SystemExit(f'{path}: not a WAV file')
    pos, ch, fmt, data, ds64 = 12, 0, 0, None, None
    cues, regions = {}, {}
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], struct.unpack('<I', b[pos + 4:pos + 8])[0]
        if cid == b'ds64':
            ds64 = struct.unpack('<Q', b[pos + 16:pos + 24])[0]
        if cid == b'fmt ':
            fmt, ch = struct.unpack('<HH', b[pos + 8:pos + 12])
        if cid == b'cue ':
            for k in range(struct.unpack('<I', b[pos + 8:pos + 12])[0]):
                cue_id, position = struct.unpack('<II', b[pos + 12 + 24 * k:pos + 20 + 24 * k])
                cues[cue_id] = position
        if cid == b'LIST' and b[pos + 8:pos + 12] == b'adtl':
            p, end = pos + 12, pos + 8 + size
            while p + 8 <= end:
                sid, ssz = b[p:p + 4], struct.unpack('<I', b[p + 4:p + 8])[0]
                cue_id = struct.unpack('<I', b[p + 8:p + 12])[0]
                if sid == b'ltxt':
                    regions.setdefault(cue_id, {})['frames'] = struct.unpack('<I', b[p + 12:p + 16])[0]
                if sid == b'labl':
                    regions.setdefault(cue_id, {})['label'] = b[p + 12:p + 8 + ssz].split(b'\0')[0].decode()
                p += 8 + ssz + (ssz & 1)
        if cid == b'data':
            if size == 0xFFFFFFFF and ds64 is not None:
                size = ds64
            data = b[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    if fmt != 3 or data is None:
        raise SystemExit(f'{path}: not a float32 WAV')
    a = array('f')
    a.frombytes(data[:len(data) // (4 * ch) * 4 * ch])
    wav_gaps = sorted(({'frame': cues[i], 'frames': r.get('frames'), 'cause': r['label'][len('ghostrec-gap:'):]}
                      for i, r in regions.items() if r.get('label', '').startswith('ghostrec-gap:') and i in cues), key=lambda g: g['frame'])
    return a, ch, wav_gaps


def main():
    wav = sys.argv[1]
    a, ch, wav_gaps = read_wav(wav)
    frames = len(a) // ch
    side = os.path.join(os.path.dirname(wav), os.path.basename(wav).replace('.wav', '.json'))
    meta = json.load(open(side))
    gaps = meta.get('gaps') or []
    in_gap = bytearray(frames)
    nonzero = 0
    for g in gaps:
        for i in range(g['frame'], min(frames, g['frame'] + g['frames'])):
            in_gap[i] = 1
            if any(a[i * ch + c] != 0.0 for c in range(ch)):
                nonzero += 1
    seen, dup, bad, runs = set(), 0, 0, []  # runs: [first_file_frame, last_file_frame, c_first, c_last]
    for i in range(frames):
        if in_gap[i]:
            continue
        k = counter(a[i * ch])
        ok = k >= 0 and all(a[i * ch + c] == signal(k, c) for c in range(1, ch))
        if not ok:
            bad += 1
            continue
        if k in seen:
            dup += 1
        seen.add(k)
        if runs and runs[-1][1] == i - 1 and runs[-1][3] == k - 1:
            runs[-1][1], runs[-1][3] = i, k
        else:
            runs.append([i, i, k, k])
    # the truth: frames missing between consecutive runs, placed where the file resumes
    true_gaps = []
    for r0, r1 in zip(runs, runs[1:]):
        missing = r1[2] - r0[3] - 1
        if missing != 0 or r1[0] != r0[1] + 1:
            true_gaps.append({'frame': r0[1] + 1, 'frames': missing})
    audio = sum(r[1] - r[0] + 1 for r in runs)
    last_audio = runs[-1][1] if runs else -1
    reported = [{'frame': g['frame'], 'frames': g['frames']} for g in gaps]
    trailing = [g for g in gaps if g['frame'] + g['frames'] == frames and g['frame'] == last_audio + 1]
    inner = [g for g in reported if not any(g['frame'] == t['frame'] for t in trailing)]
    in_wav = wav_gaps == [{'frame': g['frame'], 'frames': g['frames'], 'cause': g['cause']} for g in gaps]
    exact = in_wav and inner == true_gaps and dup == 0 and bad == 0 and nonzero == 0 and \
        all(g in trailing or g['frame'] + g['frames'] <= frames for g in gaps)
    out = {
        'take': os.path.basename(wav), 'frames': frames, 'audio_frames': audio,
        'heard': (runs[-1][3] - runs[0][2] + 1) if runs else 0,
        'gaps': [dict(g) for g in gaps], 'wav_gaps_match': in_wav, 'true_gaps': true_gaps, 'duplicated': dup, 'bad_frames': bad,
        'nonzero_in_gaps': nonzero, 'exact': exact,
    }
    print(json.dumps(out))
    return 0 if exact else 1


sys.exit(main())
