#!/usr/bin/python3
"""Independent reference for test-dicom: decodes DICOM files with pydicom and makes damaged
variants of valid files. Batched, because each Python start costs most of a second.

  dicom-helper.py decode IN OUT [IN OUT ...]
      copies IN (gunzipped if .gz) to OUT.dcm, writes every frame's values to OUT.raw
      (uint16 LE, frames x rows x columns, in Picard's convention: stored bits, signed ones
      offset by 2^(BitsStored-1), MONOCHROME1 inverted) and key=value lines describing the
      file to OUT.txt.
  dicom-helper.py mutate IN PREFIX WHAT [WHAT ...]
      writes IN changed by each WHAT (see MUTATIONS) to PREFIX-WHAT.dcm.

IN may be pydicom:NAME or nibabel:NAME for the test files those Debian packages ship.
When pydicom has no handler for a compressed syntax, GDCM's gdcmconv (an independent
implementation) decompresses the file first, and decoder= says so.
"""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom

warnings.simplefilter("ignore")


def resolve(spec):
    if spec.startswith("pydicom:"):
        import pydicom.data
        base = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
        return os.path.join(base, spec[len("pydicom:"):])
    if spec.startswith("nibabel:"):
        import nibabel
        base = os.path.join(os.path.dirname(nibabel.__file__), "nicom", "tests", "data")
        return os.path.join(base, spec[len("nibabel:"):])
    return spec


def first(value):
    if isinstance(value, pydicom.multival.MultiValue):
        return value[0]
    return value


def lookup(ds, *path):
    """ds.Seq[0].Seq[0].Leaf, or None."""
    for name in path[:-1]:
        if name not in ds or len(ds[name].value) == 0:
            return None
        ds = ds[name].value[0]
    return ds.get(path[-1])


def pixel_values(ds, path):
    try:
        return ds.pixel_array, "pydicom"
    except Exception as error:
        pydicom_error = error
    if shutil.which("gdcmconv") is None:
        raise SystemExit("pydicom cannot decode %s (%s) and gdcmconv is missing"
                         % (path, pydicom_error))
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.dcm")
        subprocess.run(["gdcmconv", "--raw", path, raw], check=True)
        return pydicom.dcmread(raw).pixel_array, "gdcmconv+pydicom"


def decode(spec, out):
    source = resolve(spec)
    target = out + ".dcm"
    if source.endswith(".gz"):
        with gzip.open(source, "rb") as f_in, open(target, "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
    else:
        shutil.copyfile(source, target)
    ds = pydicom.dcmread(target)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, columns = int(ds.Rows), int(ds.Columns)
    bits = int(ds.BitsStored)
    array, decoder = pixel_values(ds, target)
    array = np.asarray(array).reshape(frames, rows, columns)
    # Raw stored bits, whatever dtype pydicom chose.
    values = array.astype(np.int64) & ((1 << bits) - 1)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        values ^= 1 << (bits - 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        values = ((1 << bits) - 1) - values
    values.astype("<u2").tofile(out + ".raw")
    with open(out + ".txt", "w") as text:
        describe(ds, decoder, frames, rows, columns, bits, text)


def describe(ds, decoder, frames, rows, columns, bits, text):
    def say(line):
        print(line, file=text)

    say("decoder=%s" % decoder)
    say("frames=%d" % frames)
    say("rows=%d" % rows)
    say("columns=%d" % columns)
    say("bits_stored=%d" % bits)
    say("transfer_syntax=%s" % ds.file_meta.TransferSyntaxUID)
    for key in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
                "PatientID", "ImageLaterality"):
        if key in ds:
            say("%s=%s" % (key, ds.get(key)))
    for name, path in (("window_center", ("SharedFunctionalGroupsSequence",
                                          "FrameVOILUTSequence", "WindowCenter")),
                       ("window_width", ("SharedFunctionalGroupsSequence",
                                         "FrameVOILUTSequence", "WindowWidth")),
                       ("frame_laterality", ("SharedFunctionalGroupsSequence",
                                             "FrameAnatomySequence", "FrameLaterality")),
                       ("view_meaning", ("ViewCodeSequence", "CodeMeaning"))):
        value = lookup(ds, *path)
        if value is not None:
            say("%s=%s" % (name, first(value)))
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None:
        say("per_frame_items=%d" % len(per_frame))


MUTATIONS = {
    "rows-huge": lambda ds: setattr(ds, "Rows", 65535),
    "frames-huge": lambda ds: setattr(ds, "NumberOfFrames", 1000000),
    "frames-more": lambda ds: setattr(ds, "NumberOfFrames", int(ds.NumberOfFrames) + 2),
    "frames-fewer": lambda ds: setattr(ds, "NumberOfFrames", int(ds.NumberOfFrames) - 1),
    "frames-bad": lambda ds: _bad_frames(ds),
    "no-pixel-data": lambda ds: delattr(ds, "PixelData"),
    "rgb": lambda ds: (setattr(ds, "PhotometricInterpretation", "RGB"),
                       setattr(ds, "SamplesPerPixel", 3)),
    "palette": lambda ds: setattr(ds, "PhotometricInterpretation", "PALETTE COLOR"),
    "monochrome1": lambda ds: setattr(ds, "PhotometricInterpretation", "MONOCHROME1"),
    "signed": lambda ds: setattr(ds, "PixelRepresentation", 1),
    "high-bit": lambda ds: setattr(ds, "HighBit", 15),
    "bits-stored-zero": lambda ds: setattr(ds, "BitsStored", 0),
    "bits-stored-10": lambda ds: (setattr(ds, "BitsStored", 10), setattr(ds, "HighBit", 9)),
}


def _bad_frames(ds):
    # Bypasses pydicom's IS validation: the point is a damaged value.
    ds[0x00280008]._value = "x7"


def mutate(source, prefix, what):
    ds = pydicom.dcmread(resolve(source))
    MUTATIONS[what](ds)
    ds.save_as("%s-%s.dcm" % (prefix, what), write_like_original=True)


if __name__ == "__main__":
    args = sys.argv[2:]
    if sys.argv[1] == "decode" and len(args) >= 2 and len(args) % 2 == 0:
        for i in range(0, len(args), 2):
            decode(args[i], args[i + 1])
    elif sys.argv[1] == "mutate" and len(args) >= 3:
        for what in args[2:]:
            mutate(args[0], args[1], what)
    else:
        raise SystemExit(__doc__)
