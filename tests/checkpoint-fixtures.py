"""Writes the checkpoints that tests/test-checkpoint.c reads, with the values it must find.

Usage: checkpoint-fixtures.py OUTDIR        (test fixtures, see below)
       checkpoint-fixtures.py --fuzz-seeds ZIPDIR PICKLEDIR   (the fuzzers' seed corpora)

OUTDIR/expected.txt lists, one tensor a line, "file<TAB>name<TAB>shape<TAB>offset<TAB>count",
shape as comma-separated sizes ("" for a scalar), offset and count in float32 values into
OUTDIR/expected.bin, which holds every tensor converted to float32, row-major.  Every *.pt and
*.safetensors file in OUTDIR whose name does not start with "bad-" or "evil-" is listed, those
already there (written by train.picard_model) included.
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from train import picard_model as pm  # noqa: E402


def save(obj, path):
    torch.save(obj, path)


def generator_sd(input_dim, cnum, seed):
    torch.manual_seed(seed)
    return pm.Generator(input_dim, cnum).state_dict()


def write_safetensors(path, tensors):
    """A safetensors writer from the format's description: u64 header length, JSON, data."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header = {"__metadata__": {"format": "pt", "note": "caf\u00e9 \"quoted\""}}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        t = tensor.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the reference writer pads to 8 bytes with spaces
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(text)))
        stream.write(text)
        for blob in blobs:
            stream.write(blob)


def torch_zip_entries(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)


def write_zip64(path, entries):
    """A zip whose every size and offset lives in ZIP64 records, as torch writes for huge files."""
    out = io.BytesIO()
    central = []
    for name, data in entries:
        crc = zipfile.crc32(data) & 0xffffffff
        offset = out.tell()
        encoded = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc,
                              0xffffffff, 0xffffffff, len(encoded), len(extra)))
        out.write(encoded + extra + data)
        central.append((encoded, crc, len(data), offset))
    cd_start = out.tell()
    for encoded, crc, size, offset in central:
        extra = struct.pack("<HHQQQ", 1, 24, size, size, offset)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc,
                              0xffffffff, 0xffffffff, len(encoded), len(extra), 0, 0, 0, 0,
                              0xffffffff))
        out.write(encoded + extra)
    cd_size = out.tell() - cd_start
    z64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(central),
                          len(central), cd_size, cd_start))
    out.write(struct.pack("<IIQI", 0x07064b50, 0, z64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff,
                          0xffffffff, 0))
    with open(path, "wb") as stream:
        stream.write(out.getvalue())


class Evil:
    """Pickles to a call of os.system: the loader must refuse it, never run it."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class EvalCall:
    def __reduce__(self):
        import builtins
        return (builtins.eval, ("1+1",))


def write_hostile(outdir):
    marker = os.path.join(outdir, "pwned")
    # The pickle module names os.system after its real module (posix on Linux).
    evil = pickle.dumps(collections.OrderedDict(w=Evil("touch " + marker)), protocol=2)
    write_zip(os.path.join(outdir, "evil-posix.pt"),
              [("evil-posix/data.pkl", evil), ("evil-posix/version", b"3\n")])
    # The same with the module spelt "os", as a hand-made exploit would.
    crafted = (b"\x80\x02cos\nsystem\nq\x00X"
               + struct.pack("<I", len("touch " + marker)) + ("touch " + marker).encode()
               + b"\x85R.")
    write_zip(os.path.join(outdir, "evil-os.pt"),
              [("archive/data.pkl", crafted), ("archive/version", b"3\n")])
    write_zip(os.path.join(outdir, "evil-eval.pt"),
              [("archive/data.pkl", pickle.dumps({"x": EvalCall()}, protocol=2)),
               ("archive/version", b"3\n")])


def write_fixtures(outdir):
    # float16, bfloat16: the generator in reduced precision.
    sd = generator_sd(1, 8, 11)
    save(collections.OrderedDict((k, v.half()) for k, v in sd.items()),
         os.path.join(outdir, "half.pt"))
    save(collections.OrderedDict((k, v.bfloat16()) for k, v in sd.items()),
         os.path.join(outdir, "bf16.pt"))
    # input_dim 3 with its critics, in the trainer's layout.
    folder = os.path.join(outdir, "rgb")
    pm.write_random_checkpoint(folder, cnum=8, input_dim=3, ndf=4, seed=3, iteration=250)
    # nn.DataParallel's prefix.
    sd = generator_sd(1, 8, 12)
    save(collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
         os.path.join(outdir, "module.pt"))
    # Parameters rather than plain tensors (_rebuild_parameter).
    torch.manual_seed(13)
    save(pm.LocalDis(1, 4).state_dict(keep_vars=True), os.path.join(outdir, "param.pt"))
    # Views: transposed, sliced with an offset, two views of one storage, a scalar, an empty one.
    torch.manual_seed(14)
    base = torch.randn(6, 7)
    cube = torch.randn(3, 4, 5)
    views = collections.OrderedDict()
    views["transposed"] = base.t()
    views["sliced"] = base[2:, 1::3]
    views["permuted"] = cube.permute(2, 0, 1)
    views["same_storage"] = base[1]
    views["scalar"] = torch.tensor(2.5)
    views["empty"] = torch.zeros(0, 3)
    views["half_view"] = torch.randn(4, 6).half()[:, ::2]
    views["bf16_view"] = torch.randn(5, 3).bfloat16().t()
    views["expanded"] = torch.randn(3, 1).expand(3, 4)  # stride 0
    save(views, os.path.join(outdir, "views.pt"))
    # The same generator as safetensors, and a mixed-precision safetensors file.
    sd = generator_sd(1, 8, 15)
    write_safetensors(os.path.join(outdir, "gen.safetensors"), sd)
    mixed = collections.OrderedDict()
    mixed["module.a"] = torch.randn(2, 3)
    mixed["b"] = torch.randn(4).half()
    mixed["c"] = torch.randn(3, 2, 2).bfloat16()
    mixed["scalar"] = torch.tensor(-1.25)
    write_safetensors(os.path.join(outdir, "mixed.safetensors"), mixed)
    # Zip variants of a small state_dict: deflated entries, ZIP64 records, big-endian data.
    torch.manual_seed(16)
    small = collections.OrderedDict(a=torch.randn(3, 4), b=torch.randn(5), c=torch.randn(2, 2, 2))
    save(small, os.path.join(outdir, "small.pt"))
    entries = torch_zip_entries(os.path.join(outdir, "small.pt"))
    write_zip(os.path.join(outdir, "deflated.pt"), entries, zipfile.ZIP_DEFLATED)
    write_zip64(os.path.join(outdir, "zip64.pt"), entries)
    prefix = [n for n, _ in entries if n.endswith("/data.pkl")][0][:-len("data.pkl")]
    swapped = []
    for name, data in entries:
        if name.startswith(prefix + "data/"):
            data = b"".join(data[i:i + 4][::-1] for i in range(0, len(data), 4))
        if name != prefix + "byteorder":
            swapped.append((name, data))
    swapped.append((prefix + "byteorder", b"big"))
    write_zip(os.path.join(outdir, "bigendian.pt"), swapped)

    # Files that must be refused with a clear message.
    torch.save(small, os.path.join(outdir, "bad-legacy.pt"), _use_new_zipfile_serialization=False)
    save(collections.OrderedDict(a=torch.arange(6)), os.path.join(outdir, "bad-int64.pt"))
    save(torch.randn(3), os.path.join(outdir, "bad-tensor.pt"))
    save(collections.OrderedDict(x=torch.randn(2, 2, 2, 2, 2)), os.path.join(outdir, "bad-5d.pt"))
    sd = generator_sd(1, 8, 17)
    renamed = collections.OrderedDict(
        (k.replace("fine_generator.pmconv9.", "fine_generator.pmconv7."), v)
        for k, v in sd.items())
    save(renamed, os.path.join(outdir, "bad-renamed.pt"))
    missing = collections.OrderedDict(sd)
    del missing["coarse_generator.conv12.conv.bias"]
    save(missing, os.path.join(outdir, "bad-missing.pt"))
    misshapen = collections.OrderedDict(sd)
    misshapen["fine_generator.allconv11.conv.weight"] = torch.randn(32, 32, 3, 3)
    save(misshapen, os.path.join(outdir, "bad-misshapen.pt"))
    extra = collections.OrderedDict(sd)
    extra["fine_generator.conv99.conv.weight"] = torch.randn(1)
    save(extra, os.path.join(outdir, "bad-extra.pt"))
    nan = collections.OrderedDict(sd)
    nan["coarse_generator.conv5.conv.bias"] = nan["coarse_generator.conv5.conv.bias"].clone()
    nan["coarse_generator.conv5.conv.bias"][3] = float("nan")
    save(nan, os.path.join(outdir, "bad-nan.pt"))
    write_hostile(outdir)


def dump_expected(outdir):
    lines = []
    with open(os.path.join(outdir, "expected.bin"), "wb") as blob:
        offset = 0
        for root, _, files in sorted(os.walk(outdir)):
            for base in sorted(files):
                if base.startswith(("bad-", "evil-")) or \
                        not base.endswith((".pt", ".safetensors")):
                    continue
                path = os.path.join(root, base)
                rel = os.path.relpath(path, outdir)
                if base.endswith(".safetensors"):
                    tensors = read_safetensors(path)
                elif base == "bigendian.pt":
                    # The byte-swapped copy holds small.pt's values; PyTorch before 2.1
                    # ignores the byteorder record, so it cannot read them itself.
                    tensors = flatten(torch.load(os.path.join(root, "small.pt")), "")
                else:
                    tensors = flatten(torch.load(path), "")
                for name, tensor in tensors:
                    if name.startswith("module."):
                        name = name[len("module."):]
                    values = tensor.detach().float().contiguous()
                    blob.write(values.numpy().tobytes())
                    shape = ",".join(str(s) for s in values.shape)
                    lines.append("%s\t%s\t%s\t%d\t%d" % (rel, name, shape, offset,
                                                        values.numel()))
                    offset += values.numel()
    with open(os.path.join(outdir, "expected.txt"), "w") as stream:
        stream.write("\n".join(lines) + "\n")


def flatten(obj, prefix):
    out = []
    for key, value in obj.items():
        if isinstance(value, dict):
            out += flatten(value, prefix + key + ".")
        else:
            out.append((prefix + key, value))
    return out


def read_safetensors(path):
    """Reads back with torch only (independent of the C reader)."""
    with open(path, "rb") as stream:
        data = stream.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[8 + length + begin:8 + length + end])
        dtype = dtypes[info["dtype"]]
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else \
                torch.zeros(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        out.append((name, t.reshape(info["shape"])))
    return out


def write_fuzz_seeds(zipdir, pickledir):
    """A few KB each: a tiny state_dict in each format the loader reads."""
    os.makedirs(zipdir, exist_ok=True)
    os.makedirs(pickledir, exist_ok=True)
    torch.manual_seed(0)
    tiny = collections.OrderedDict()
    tiny["dis_conv_module.conv1.conv.weight"] = torch.randn(2, 1, 2, 2)
    tiny["dis_conv_module.conv1.conv.bias"] = torch.randn(2)
    tiny["linear.weight"] = torch.randn(1, 3).t()
    tiny["half"] = torch.randn(3).half()
    tiny["bf16"] = torch.randn(2).bfloat16()
    tiny["scalar"] = torch.tensor(1.0)
    path = os.path.join(zipdir, "tiny.pt")
    save(tiny, path)
    save({"localD": collections.OrderedDict(w=torch.randn(2)),
          "globalD": {"module.w": torch.randn(1)}}, os.path.join(zipdir, "nested.pt"))
    entries = torch_zip_entries(path)
    write_zip(os.path.join(zipdir, "deflated.pt"), entries, zipfile.ZIP_DEFLATED)
    write_zip64(os.path.join(zipdir, "zip64.pt"), entries)
    write_safetensors(os.path.join(zipdir, "tiny.safetensors"),
                      collections.OrderedDict((k, v) for k, v in tiny.items()
                                              if k != "linear.weight"))
    for name, data in entries:
        if name.endswith("/data.pkl"):
            with open(os.path.join(pickledir, "tiny.pkl"), "wb") as stream:
                stream.write(data)
    for name, data in torch_zip_entries(os.path.join(zipdir, "nested.pt")):
        if name.endswith("/data.pkl"):
            with open(os.path.join(pickledir, "nested.pkl"), "wb") as stream:
                stream.write(data)
    with open(os.path.join(pickledir, "params.pkl"), "wb") as stream:
        buf = io.BytesIO()
        torch.manual_seed(1)
        torch.save(collections.OrderedDict(p=torch.nn.Parameter(torch.randn(2))), buf)
        buf.seek(0)
        with zipfile.ZipFile(buf) as archive:
            stream.write(archive.read([n for n in archive.namelist()
                                       if n.endswith("/data.pkl")][0]))
    with open(os.path.join(pickledir, "evil.pkl"), "wb") as stream:
        stream.write(pickle.dumps(collections.OrderedDict(w=Evil("true")), protocol=2))


def main():
    torch.set_num_threads(1)
    if len(sys.argv) == 4 and sys.argv[1] == "--fuzz-seeds":
        write_fuzz_seeds(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    write_fixtures(outdir)
    dump_expected(outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
