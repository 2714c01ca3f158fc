#!/usr/bin/env python3
"""Checks a TensorBoard event file written by `troupe train` without Troupe's code or Java.

An independent reader, for when `tensorboard` is not installed: the TFRecord framing
(little-endian uint64 length, masked CRC-32C of it, data, masked CRC-32C of the data) with a
bitwise CRC-32C, and the Event/Summary protobuf fields decoded by hand (wall_time=1 double,
step=2 varint, file_version=3 string, summary=5 message; Summary.value=1; Value.tag=1 string,
simple_value=2 float). Prints each step's scalars; exits 1 on any framing or CRC error.

Usage: bench/tb-check.py DIR/tb/events.out.tfevents.*
"""
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise ValueError("unexpected wire type %d" % wire)
        yield number, value


def main(path):
    data = open(path, "rb").read()
    pos = records = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if crc != masked(header):
            sys.exit("length CRC mismatch at byte %d" % pos)
        body = data[pos + 12:pos + 12 + length]
        (crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if len(body) != length or crc != masked(body):
            sys.exit("data CRC mismatch at byte %d" % pos)
        pos += 16 + length
        records += 1
        event = dict(fields(body))
        step = event.get(2, 0)
        if 3 in event:
            print("version", event[3].decode())
        if 5 in event:
            values = []
            for number, value in fields(event[5]):
                v = dict(fields(value))
                values.append("%s=%.6g" % (v[1].decode(), struct.unpack("<f", v[2])[0]))
            print("step", step, " ".join(values))
    print("ok: %d records, every CRC matches" % records)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
