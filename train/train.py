"""PICARD's trainer: the DeepFill v1 inpainter trained on normal DBT slices.

Follows PICARD's training recipe (SPEC.md section 2, "Training recipe"): random PxP crops of
normal slices that contain tissue, one random shrunken HxH hole per batch, WGAN-GP on a local
(hole) and a global critic, spatially discounted L1 in the hole, L1 outside it (AE), Adam with
lr 1e-4 and betas (0.5, 0.9), critics every iteration and the generator every n_critic-th.

Writes, into OUTDIR, exactly what PICARD's trainer writes (``gen_%08d.pt`` = the Generator's
state_dict, ``dis_%08d.pt`` = ``{'localD': ..., 'globalD': ...}``), plus ``opt_%08d.pt`` (the
optimiser states, for resuming; only the latest is kept), ``train_log.jsonl`` (one JSON object
per line), ``config.json`` and ``best.txt`` (the checkpoint with the lowest hole L1 on
held-out normal patches, as the paper picks its model).

Every batch's crops, hole and gradient-penalty mixing are drawn from generators seeded by
(seed, iteration), so a resumed run continues exactly as an uninterrupted one would, whatever
the number of data-loading workers.

Run from the repository root: ``/usr/bin/python3 -m train.train --help``.
"""

import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from train import picard_model as pm

CHECKPOINT_RE = re.compile(r"^(gen|dis|opt)_(\d{8})\.pt$")
LOG_NAME = "train_log.jsonl"
BEST_NAME = "best.txt"
CONFIG_NAME = "config.json"
# Options that fix the shapes of the networks: a resumed run must not change them.
ARCH_KEYS = ("cnum", "ndf", "input_dim", "patch_size", "hole_size")


class TrainError(Exception):
    """A problem with the user's input or output folder, reported without a traceback."""


# ---------------------------------------------------------------------------------------------
# Slices


def read_slice(path):
    """A PNG slice as a 2-D array of its stored values and the value of full white."""
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode == "L":
                return np.asarray(image, dtype=np.uint8), 255.0
            if mode in ("I", "I;16", "I;16B", "I;16L"):
                # PIL opens 16-bit grayscale PNGs as "I" (int32) or "I;16".
                return np.asarray(image).astype(np.uint16), 65535.0
            if mode == "1":
                return np.asarray(image, dtype=np.uint8), 1.0
    except OSError as error:
        raise TrainError("%s: cannot read this PNG (%s); regenerate it with "
                         "'picard-cli slices'" % (path, error)) from error
    raise TrainError("%s: PNG mode %s is not grayscale; slices must be 8- or 16-bit "
                     "grayscale PNGs (write them with 'picard-cli slices')" % (path, mode))


def slice_size(path):
    try:
        with Image.open(path) as image:
            return image.size[1], image.size[0]
    except OSError as error:
        raise TrainError("%s: cannot read this PNG (%s)" % (path, error)) from error


def find_pngs(folder):
    """PNG files under @folder, recursively, grouped by the folder that holds them (one
    folder = one volume)."""
    if not os.path.isdir(folder):
        raise TrainError("%s is not a folder of PNG slices" % folder)
    groups = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(".png") and not name.startswith("."):
                groups.setdefault(os.path.relpath(root, folder), []).append(
                    os.path.join(root, name))
    return groups


class SliceSet:
    """The slices crops are drawn from.  Slices are decoded on first use and kept while the
    cache budget allows (all of them for small data sets)."""

    def __init__(self, paths, patch_size, cache_bytes):
        self.paths = []
        self.shapes = []
        skipped = 0
        for path in paths:
            rows, columns = slice_size(path)
            if rows < patch_size or columns < patch_size:
                skipped += 1
                continue
            self.paths.append(path)
            self.shapes.append((rows, columns))
        self.skipped = skipped
        self.cache_bytes = cache_bytes
        self.cached_bytes = 0
        self.cache = {}

    def __len__(self):
        return len(self.paths)

    def get(self, index):
        hit = self.cache.get(index)
        if hit is not None:
            return hit
        pixels, white = read_slice(self.paths[index])
        if pixels.shape != self.shapes[index]:
            raise TrainError("%s changed size while training" % self.paths[index])
        if self.cached_bytes + pixels.nbytes <= self.cache_bytes:
            self.cache[index] = (pixels, white)
            self.cached_bytes += pixels.nbytes
        return pixels, white

    def preload(self):
        for index in range(len(self.paths)):
            if self.cached_bytes >= self.cache_bytes:
                break
            self.get(index)


def draw_crops(slices, rng, count, patch, threshold, max_tries):
    """@count random PxP crops in [-1, 1], each re-drawn (slice and position) until its
    maximum exceeds @threshold, i.e. it holds tissue."""
    out = np.empty((count, 1, patch, patch), dtype=np.float32)
    for k in range(count):
        for _ in range(max_tries):
            index = int(rng.integers(len(slices)))
            pixels, white = slices.get(index)
            rows, columns = pixels.shape
            y = int(rng.integers(rows - patch + 1))
            x = int(rng.integers(columns - patch + 1))
            crop = pixels[y:y + patch, x:x + patch].astype(np.float32) * (2.0 / white) - 1.0
            if crop.max() > threshold:
                out[k, 0] = crop
                break
        else:
            raise TrainError("no %dx%d crop with tissue (maximum above %g) in %d tries: are "
                             "the slices blank, or windowed too dark?"
                             % (patch, patch, threshold, max_tries))
    return out


def draw_hole(rng, patch, hole, max_shrink):
    """PICARD/DeepFill's random box: top-left corner uniform in [0, P-H) (numpy's randint
    excludes the upper end), then each side pair shrunk by 0..max_shrink pixels.  Returns
    (box, hole): box = (top, left) of the HxH box the local critic sees; hole = (y0, y1, x0,
    x1) of the region that is hidden."""
    top = int(rng.integers(0, patch - hole))
    left = int(rng.integers(0, patch - hole))
    dy = int(rng.integers(0, max_shrink + 1))
    dx = int(rng.integers(0, max_shrink + 1))
    return (top, left), (top + dy, top + hole - dy, left + dx, left + hole - dx)


class BatchDataset(torch.utils.data.Dataset):
    """Item i is iteration i's batch: a function of (seed, i) only."""

    def __init__(self, slices, args):
        self.slices = slices
        self.seed = args.seed
        self.batch = args.batch_size
        self.patch = args.patch_size
        self.hole = args.hole_size
        self.max_shrink = args.max_shrink
        self.threshold = args.tissue_threshold
        self.max_tries = args.max_tries

    def __len__(self):
        return 1 << 40

    def __getitem__(self, iteration):
        rng = np.random.default_rng([self.seed, iteration])
        box, hole = draw_hole(rng, self.patch, self.hole, self.max_shrink)
        crops = draw_crops(self.slices, rng, self.batch, self.patch, self.threshold,
                           self.max_tries)
        return iteration, torch.from_numpy(crops), torch.tensor(box), torch.tensor(hole)


# ---------------------------------------------------------------------------------------------
# Input: folders of PNG slices, or BCS-DBT tables converted with picard-cli slices


def default_picard_cli():
    env = os.environ.get("PICARD_CLI")
    if env:
        return env
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for build in ("build", "_build"):
        candidate = os.path.join(here, build, "picard-cli")
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("picard-cli")
    return found or "picard-cli"


def read_csv_rows(path, required):
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise TrainError("%s: column(s) %s missing; expected BCS-DBT's %s"
                                 % (path, ", ".join(missing), ",".join(required)))
            return list(reader)
    except OSError as error:
        raise TrainError("cannot read %s: %s" % (path, error)) from error


def bcs_dbt_groups(args):
    """Converts the normal volumes of a BCS-DBT file-paths CSV + labels CSV into PNG slices
    (once; a finished volume's folder holds a .complete marker) and returns them grouped by
    patient."""
    key_columns = ["PatientID", "StudyUID", "View"]
    paths = read_csv_rows(args.filepaths_csv, key_columns + [args.path_column])
    labels = read_csv_rows(args.labels_csv, key_columns + ["Normal"])
    normal = {tuple(row[c] for c in key_columns) for row in labels
              if row["Normal"].strip() == "1"}
    root = args.data_root or os.path.dirname(os.path.abspath(args.filepaths_csv))
    cache = args.slices_dir or os.path.join(args.output, "slices")
    volumes = [row for row in paths if tuple(row[c] for c in key_columns) in normal]
    if args.max_volumes:
        volumes = volumes[:args.max_volumes]
    if not volumes:
        raise TrainError("%s lists no volume that %s marks Normal=1"
                         % (args.filepaths_csv, args.labels_csv))
    groups = {}
    for number, row in enumerate(volumes):
        parts = [re.sub(r"[^A-Za-z0-9._-]", "_", row[c]) for c in key_columns]
        folder = os.path.join(cache, *parts)
        marker = os.path.join(folder, ".complete")
        if not os.path.exists(marker):
            source = os.path.join(root, row[args.path_column])
            command = [args.picard_cli, "slices", source, "-o", folder,
                       "--view", row["View"].strip().lower(), "--bits", str(args.slice_bits),
                       "--quiet"]
            print("[%d/%d] %s" % (number + 1, len(volumes), " ".join(command)), flush=True)
            try:
                result = subprocess.run(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            except OSError as error:
                raise TrainError("cannot run %s (%s); build the project or give "
                                 "--picard-cli" % (args.picard_cli, error)) from error
            if result.returncode != 0:
                raise TrainError("%s failed: %s" % (" ".join(command), result.stderr.strip()))
            with open(marker, "w") as stream:
                stream.write("done\n")
        files = [os.path.join(folder, name) for name in sorted(os.listdir(folder))
                 if name.endswith(".png")]
        groups.setdefault(row["PatientID"], []).extend(files)
    return groups


def split_groups(groups, fraction, seed):
    """Held-out groups (volumes or patients): round(fraction * n), at least one when there
    are two or more.  With a single group its slices are split instead (adjacent DBT slices
    are alike, so that estimate is optimistic; say so)."""
    names = sorted(groups)
    if fraction <= 0:
        return [p for n in names for p in groups[n]], [], None
    if len(names) == 1:
        files = groups[names[0]]
        count = max(1, int(round(fraction * len(files))))
        if count >= len(files):
            raise TrainError("one volume of %d slices cannot be split into training and "
                             "held-out slices; give more slices or --val-dir" % len(files))
        return files[:-count], files[-count:], (
            "only one volume: the held-out patches come from its last %d slices" % count)
    count = min(len(names) - 1, max(1, int(round(fraction * len(names)))))
    order = np.random.default_rng([seed, 7]).permutation(len(names))
    held = {names[i] for i in order[:count]}
    train = [p for n in names if n not in held for p in groups[n]]
    val = [p for n in names if n in held for p in groups[n]]
    return train, val, None


# ---------------------------------------------------------------------------------------------
# Losses


def spatial_discount(size, gamma, device):
    """DeepFill's discount over the HxH box: max(gamma^min(i, H-i), gamma^min(j, H-j))."""
    i = torch.arange(size, dtype=torch.float64)
    d = torch.minimum(i, size - i)
    g = torch.pow(torch.tensor(gamma, dtype=torch.float64), d)
    return torch.maximum(g[:, None], g[None, :]).to(torch.float32).to(device)[None, None]


def gradient_penalty(critic, real, fake, generator):
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    score = critic(mixed)
    grad, = torch.autograd.grad(score, mixed, grad_outputs=torch.ones_like(score),
                                create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def crop_box(x, box, size):
    top, left = box
    return x[:, :, top:top + size, left:left + size]


def sized_critic(base, size):
    """PICARD's critic class for another input size (the Linear layer follows the size)."""
    if size == base.image_size:
        return base
    return type("%s%d" % (base.__name__, size), (base,), {"image_size": size})


# ---------------------------------------------------------------------------------------------
# Checkpoints, log, best


def list_checkpoints(folder):
    found = {}
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            match = CHECKPOINT_RE.match(name)
            if match:
                found.setdefault(int(match.group(2)), set()).add(match.group(1))
    return found


def latest_resumable(folder):
    complete = [it for it, kinds in list_checkpoints(folder).items()
                if kinds >= {"gen", "dis", "opt"}]
    return max(complete) if complete else None


def write_text_atomic(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_log(path):
    records = []
    if os.path.exists(path):
        with open(path) as stream:
            for line in stream:
                line = line.strip()
                if line:
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        pass  # a line cut short by a crash
    return records


def best_from_log(records):
    vals = [r for r in records if r.get("event") == "validation"]
    if not vals:
        return None
    return min(vals, key=lambda r: (r["val_hole_l1"], r["iteration"]))


def write_best(folder, record):
    it = record["iteration"]
    write_text_atomic(os.path.join(folder, BEST_NAME),
                      "iteration %d\nval_hole_l1 %.6f\ngen gen_%08d.pt\ndis dis_%08d.pt\n"
                      % (it, record["val_hole_l1"], it, it))


def read_best(folder):
    """(iteration, val_hole_l1, gen path, dis path) from best.txt, or None."""
    path = os.path.join(folder, BEST_NAME)
    if not os.path.exists(path):
        return None
    fields = {}
    with open(path) as stream:
        for line in stream:
            parts = line.split(None, 1)
            if len(parts) == 2:
                fields[parts[0]] = parts[1].strip()
    return (int(fields["iteration"]), float(fields["val_hole_l1"]),
            os.path.join(folder, fields["gen"]), os.path.join(folder, fields["dis"]))


# ---------------------------------------------------------------------------------------------
# Held-out evaluation


def validation_patches(slices, args):
    """Fixed held-out patches, the same for every checkpoint (and every resume)."""
    rng = np.random.default_rng([args.seed, 1 << 20])
    return torch.from_numpy(draw_crops(slices, rng, args.val_patches, args.patch_size,
                                       args.tissue_threshold, args.max_tries))


def centred_mask(patch, hole, device):
    mask = torch.zeros(1, 1, patch, patch, device=device)
    start = (patch - hole) // 2
    mask[:, :, start:start + hole, start:start + hole] = 1.0
    return mask


@torch.no_grad()
def hole_l1(gen, patches, hole, device, batch):
    """Mean |completion - truth| over the centred HxH hole (inference's geometry), with the
    generator as it is (no dropout), in [-1, 1] units; also the same for a blank fill (the
    zeros the network sees) and for a fill with the mean of the patch's visible pixels."""
    patch = patches.shape[-1]
    mask = centred_mask(patch, hole, device)
    sums = {"model": 0.0, "blank": 0.0, "mean": 0.0}
    count = 0
    was_training = gen.training
    gen.eval()
    for start in range(0, patches.shape[0], batch):
        gt = patches[start:start + batch].to(device)
        m = mask.expand(gt.shape[0], -1, -1, -1)
        x = gt * (1.0 - m)
        _, x2, _ = gen(x, m)
        inside = m > 0.5
        sums["model"] += (x2 - gt).abs()[inside].sum().item()
        sums["blank"] += gt.abs()[inside].sum().item()
        mean = (x.sum(dim=(1, 2, 3), keepdim=True)
                / (1.0 - m).sum(dim=(1, 2, 3), keepdim=True))
        sums["mean"] += (mean.expand_as(gt) - gt).abs()[inside].sum().item()
        count += int(inside.sum().item())
    gen.train(was_training)
    return {k: v / count for k, v in sums.items()}


# ---------------------------------------------------------------------------------------------
# Training


def build_parser():
    p = argparse.ArgumentParser(
        prog="python3 -m train.train",
        description="Train PICARD's inpainter (DeepFill v1) on normal DBT slices, with "
                    "PICARD's recipe. Resumes from OUTDIR's latest checkpoint.")
    src = p.add_argument_group("input (a PNG folder, or BCS-DBT tables)")
    src.add_argument("--slices", metavar="DIR", action="append", default=[],
                     help="folder of 8- or 16-bit grayscale PNG slices, searched recursively; "
                          "each folder of PNGs is one volume (repeatable)")
    src.add_argument("--filepaths-csv", metavar="CSV",
                     help="BCS-DBT file-paths CSV (PatientID,StudyUID,View,...,classic_path)")
    src.add_argument("--labels-csv", metavar="CSV",
                     help="BCS-DBT labels CSV: only volumes with Normal=1 are used")
    src.add_argument("--data-root", metavar="DIR",
                     help="folder the CSV's paths are relative to (default: the CSV's folder)")
    src.add_argument("--path-column", default="classic_path",
                     help="column of the file-paths CSV to read (classic_path)")
    src.add_argument("--slices-dir", metavar="DIR",
                     help="where the CSV's volumes are written as PNG slices (OUTDIR/slices)")
    src.add_argument("--slice-bits", type=int, choices=(8, 16), default=8,
                     help="bit depth of those slices (8, as PICARD reads slices)")
    src.add_argument("--max-volumes", type=int, default=0,
                     help="use only the first N normal volumes of the CSV (0: all)")
    src.add_argument("--picard-cli", default=None,
                     help="picard-cli to convert volumes (default: $PICARD_CLI, build/, PATH)")
    src.add_argument("--val-dir", metavar="DIR", action="append", default=[],
                     help="held-out normal PNG slices (default: --val-fraction of the volumes)")
    src.add_argument("--val-fraction", type=float, default=0.1,
                     help="fraction of volumes (patients for CSVs) held out (0.1)")
    src.add_argument("--val-patches", type=int, default=64,
                     help="held-out patches scored at every checkpoint (64)")
    src.add_argument("--cache-mb", type=float, default=4096,
                     help="decoded slices kept in memory, per data worker (4096 MB)")
    src.add_argument("--workers", type=int, default=0,
                     help="data-loading processes (0: load in the training process)")

    net = p.add_argument_group("networks")
    net.add_argument("--cnum", type=int, default=32, help="generator width c (32)")
    net.add_argument("--ndf", type=int, default=32, help="critic width d (32)")
    net.add_argument("--input-dim", type=int, default=1, help="image channels (1)")

    rec = p.add_argument_group("recipe (PICARD's defaults)")
    rec.add_argument("--patch-size", type=int, default=256, help="crop size P (256)")
    rec.add_argument("--hole-size", type=int, default=128, help="hole box size H (128)")
    rec.add_argument("--max-shrink", type=int, default=None,
                     help="each side of the hole shrinks by 0..N px (default H/8: 16 for 128)")
    rec.add_argument("--tissue-threshold", type=float, default=-0.99,
                     help="a crop is kept when its maximum in [-1,1] exceeds this (-0.99)")
    rec.add_argument("--max-tries", type=int, default=10000,
                     help="crops drawn before giving up on finding tissue (10000)")
    rec.add_argument("--batch-size", type=int, default=55, help="batch (55)")
    rec.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (1e-4)")
    rec.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (0.5)")
    rec.add_argument("--beta2", type=float, default=0.9, help="Adam beta2 (0.9)")
    rec.add_argument("--n-critic", type=int, default=5,
                     help="the generator is updated every N-th iteration (5)")
    rec.add_argument("--gp-lambda", type=float, default=10.0, help="WGAN-GP weight (10)")
    rec.add_argument("--l1-alpha", type=float, default=1.2, help="hole L1 weight (1.2)")
    rec.add_argument("--ae-alpha", type=float, default=1.2,
                     help="L1 outside the hole (AE) weight (1.2)")
    rec.add_argument("--gan-alpha", type=float, default=0.001,
                     help="adversarial weight of the generator loss (0.001)")
    rec.add_argument("--coarse-l1-alpha", type=float, default=1.2,
                     help="weight of the coarse output's L1 terms (1.2)")
    rec.add_argument("--global-wgan-alpha", type=float, default=1.0,
                     help="weight of the global critic against the local (1.0)")
    rec.add_argument("--gamma", type=float, default=0.9,
                     help="spatial discount of the hole L1 (0.9; 1 switches it off)")

    run = p.add_argument_group("run")
    run.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                     help="checkpoints, log, best.txt; an existing run there is resumed")
    run.add_argument("--iterations", type=int, default=130000,
                     help="train until this iteration (130000, about the paper's)")
    run.add_argument("--checkpoint-interval", type=int, default=1000,
                     help="write gen_/dis_/opt_ and score the held-out patches every N (1000)")
    run.add_argument("--log-interval", type=int, default=100, help="log losses every N (100)")
    run.add_argument("--seed", type=int, default=1337, help="seed (1337)")
    run.add_argument("--threads", type=int, default=0,
                     help="CPU threads of PyTorch (0: one per core)")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu or cuda")
    run.add_argument("--gpus", type=int, default=1,
                     help="with cuda: split each batch over this many GPUs (1)")
    run.add_argument("--no-resume", action="store_true",
                     help="refuse to start when OUTDIR already holds checkpoints")
    return p


def check_args(parser, args):
    if not args.slices and not args.filepaths_csv:
        parser.error("give --slices DIR or --filepaths-csv CSV --labels-csv CSV")
    if bool(args.filepaths_csv) != bool(args.labels_csv):
        parser.error("--filepaths-csv and --labels-csv go together")
    if args.max_shrink is None:
        args.max_shrink = args.hole_size // 8
    if args.patch_size % 16 or args.hole_size % 16 or args.patch_size < 16:
        parser.error("--patch-size and --hole-size must be multiples of 16 (the critics "
                     "halve them four times; the generator needs multiples of 8)")
    if not 16 <= args.hole_size < args.patch_size:
        parser.error("--hole-size must be at least 16 and smaller than --patch-size")
    if not 0 <= 2 * args.max_shrink < args.hole_size:
        parser.error("--max-shrink must leave a hole: 0 <= 2*N < H")
    if args.cnum < 2 or args.cnum % 2 or args.ndf < 1 or args.input_dim != 1:
        parser.error("--cnum must be even and >= 2, --ndf >= 1; slices have one channel "
                     "(--input-dim 1)")
    for name in ("batch_size", "n_critic", "iterations", "checkpoint_interval",
                 "log_interval", "val_patches", "max_tries"):
        if getattr(args, name) < 1:
            parser.error("--%s must be positive" % name.replace("_", "-"))
    if not 0 <= args.val_fraction < 1:
        parser.error("--val-fraction must be in [0, 1)")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA device here")
    if args.gpus < 1 or (args.gpus > 1 and args.device != "cuda"):
        parser.error("--gpus N needs --device cuda")
    if args.device == "cuda" and args.gpus > torch.cuda.device_count():
        parser.error("--gpus %d: only %d CUDA devices" % (args.gpus, torch.cuda.device_count()))


def gather_slices(args):
    groups = {}
    for folder in args.slices:
        for name, files in find_pngs(folder).items():
            groups.setdefault(os.path.join(os.path.abspath(folder), name), []).extend(files)
    if args.filepaths_csv:
        for name, files in bcs_dbt_groups(args).items():
            groups.setdefault("patient:" + name, []).extend(files)
    if not any(groups.values()):
        raise TrainError("no PNG slices found in %s" % ", ".join(args.slices))
    if args.val_dir:
        train_files = [p for files in groups.values() for p in files]
        val_files = [p for folder in args.val_dir for files in find_pngs(folder).values()
                     for p in files]
        note = None
    else:
        train_files, val_files, note = split_groups(groups, args.val_fraction, args.seed)
    cache = int(args.cache_mb * 1024 * 1024)
    train_set = SliceSet(train_files, args.patch_size, cache)
    val_set = SliceSet(val_files, args.patch_size, cache) if val_files else None
    if len(train_set) == 0:
        raise TrainError("no training slice is at least %dx%d" % ((args.patch_size,) * 2))
    if val_set is not None and len(val_set) == 0:
        val_set = None
    return train_set, val_set, note


class Trainer:
    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        torch.manual_seed(args.seed)
        self.gen = pm.Generator(args.input_dim, args.cnum).to(self.device)
        local_cls = sized_critic(pm.LocalDis, args.hole_size)
        global_cls = sized_critic(pm.GlobalDis, args.patch_size)
        self.local = local_cls(args.input_dim, args.ndf).to(self.device)
        self.glob = global_cls(args.input_dim, args.ndf).to(self.device)
        betas = (args.beta1, args.beta2)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=args.lr, betas=betas)
        self.opt_d = torch.optim.Adam(list(self.local.parameters())
                                      + list(self.glob.parameters()), lr=args.lr, betas=betas)
        if args.gpus > 1:
            ids = list(range(args.gpus))
            self.run_gen = torch.nn.DataParallel(self.gen, device_ids=ids)
            self.run_local = torch.nn.DataParallel(self.local, device_ids=ids)
            self.run_glob = torch.nn.DataParallel(self.glob, device_ids=ids)
        else:
            self.run_gen, self.run_local, self.run_glob = self.gen, self.local, self.glob
        self.discount = spatial_discount(args.hole_size, args.gamma, self.device)
        self.elapsed = 0.0

    def paths(self, iteration):
        out = self.args.output
        return tuple(os.path.join(out, "%s_%08d.pt" % (kind, iteration))
                     for kind in ("gen", "dis", "opt"))

    def save(self, iteration):
        gen_path, dis_path, opt_path = self.paths(iteration)
        pm._save_atomic(self.gen.state_dict(), gen_path)
        pm._save_atomic({"localD": self.local.state_dict(), "globalD": self.glob.state_dict()},
                        dis_path)
        # Written last: its presence marks a complete, resumable checkpoint.
        pm._save_atomic({"gen": self.opt_g.state_dict(), "dis": self.opt_d.state_dict(),
                         "iteration": iteration, "elapsed": self.elapsed}, opt_path)
        for it, kinds in list_checkpoints(self.args.output).items():
            if it < iteration and "opt" in kinds:
                os.unlink(self.paths(it)[2])

    def load(self, iteration):
        gen_path, dis_path, opt_path = self.paths(iteration)
        load = lambda path: torch.load(path, map_location=self.device)  # noqa: E731
        try:
            self.gen.load_state_dict(load(gen_path))
            dis = load(dis_path)
            self.local.load_state_dict(dis["localD"])
            self.glob.load_state_dict(dis["globalD"])
            opt = load(opt_path)
            self.opt_g.load_state_dict(opt["gen"])
            self.opt_d.load_state_dict(opt["dis"])
        except (RuntimeError, KeyError) as error:
            raise TrainError("cannot resume from %s (%s); were the network options "
                             "different? Use another OUTDIR" % (gen_path, error)) from error
        self.elapsed = float(opt.get("elapsed", 0.0))

    def step(self, iteration, gt, box, hole):
        """One iteration: critics always, the generator when iteration % n_critic == 0.
        Returns the losses as floats."""
        a = self.args
        gt = gt.to(self.device, non_blocking=True)
        n = gt.shape[0]
        y0, y1, x0, x1 = hole
        mask = torch.zeros(1, 1, a.patch_size, a.patch_size, device=self.device)
        mask[:, :, y0:y1, x0:x1] = 1.0
        mask = mask.expand(n, -1, -1, -1)
        x = gt * (1.0 - mask)
        rng = torch.Generator(device=self.device)
        rng.manual_seed((a.seed * 1000003 + iteration) % (1 << 62))
        update_g = iteration % a.n_critic == 0

        with torch.set_grad_enabled(update_g):
            x1, x2, _ = self.run_gen(x, mask)
        x1_in = x1 * mask + x * (1.0 - mask)
        x2_in = x2 * mask + x * (1.0 - mask)
        local_gt = crop_box(gt, box, a.hole_size)
        local_x2 = crop_box(x2_in, box, a.hole_size)

        # Critics: WGAN loss on the detached completion plus the gradient penalty.
        fake_local, fake_glob = local_x2.detach(), x2_in.detach()
        wgan_d = (self.run_local(fake_local).mean() - self.run_local(local_gt).mean()
                  + a.global_wgan_alpha * (self.run_glob(fake_glob).mean()
                                           - self.run_glob(gt).mean()))
        gp = (gradient_penalty(self.run_local, local_gt, fake_local, rng)
              + gradient_penalty(self.run_glob, gt, fake_glob, rng))
        loss_d = wgan_d + a.gp_lambda * gp
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        losses = {"wgan_d": wgan_d.item(), "wgan_gp": gp.item(), "d": loss_d.item()}
        if not update_g:
            return losses

        # Generator: with the critics as they are after this iteration's update.
        sd = self.discount
        local_x1 = crop_box(x1_in, box, a.hole_size)
        l1 = (F.l1_loss(local_x1 * sd, local_gt * sd) * a.coarse_l1_alpha
              + F.l1_loss(local_x2 * sd, local_gt * sd))
        outside = 1.0 - mask
        ae = (F.l1_loss(x1 * outside, gt * outside) * a.coarse_l1_alpha
              + F.l1_loss(x2 * outside, gt * outside))
        wgan_g = -self.run_local(local_x2).mean() - a.global_wgan_alpha * self.run_glob(
            x2_in).mean()
        loss_g = a.l1_alpha * l1 + a.ae_alpha * ae + a.gan_alpha * wgan_g
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        # The critics' gradients from the generator loss are not theirs to apply.
        self.opt_d.zero_grad(set_to_none=True)
        losses.update({"l1": l1.item(), "ae": ae.item(), "wgan_g": wgan_g.item(),
                       "g": loss_g.item()})
        return losses


def config_record(args):
    skip = {"no_resume", "threads", "workers", "picard_cli"}
    return {k: v for k, v in sorted(vars(args).items()) if k not in skip}


def append_log(path, record):
    with open(path, "a") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def train(args):
    os.makedirs(args.output, exist_ok=True)
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    if args.picard_cli is None:
        args.picard_cli = default_picard_cli()

    start = latest_resumable(args.output)
    if start is not None and args.no_resume:
        raise TrainError("%s already holds checkpoints (latest %d); --no-resume refuses to "
                         "continue them" % (args.output, start))
    config_path = os.path.join(args.output, CONFIG_NAME)
    if start is not None and os.path.exists(config_path):
        with open(config_path) as stream:
            old = json.load(stream)
        changed = [k for k in ARCH_KEYS if k in old and old[k] != getattr(args, k)]
        if changed:
            raise TrainError("%s was trained with other %s (%s); use another OUTDIR"
                             % (args.output, ", ".join("--" + k.replace("_", "-")
                                                       for k in changed),
                                ", ".join("%s=%s" % (k, old[k]) for k in changed)))
    write_text_atomic(config_path, json.dumps(config_record(args), indent=2) + "\n")

    train_set, val_set, note = gather_slices(args)
    train_set.preload()
    print("training slices: %d (%d too small, skipped); held-out slices: %d"
          % (len(train_set), train_set.skipped, len(val_set) if val_set else 0), flush=True)
    if note:
        print("note: " + note, flush=True)

    trainer = Trainer(args)
    log_path = os.path.join(args.output, LOG_NAME)
    records = read_log(log_path)
    if start is not None:
        trainer.load(start)
        # Drop what a crash logged after the checkpoint we continue from.
        kept = [r for r in records if r.get("iteration", 0) <= start]
        write_text_atomic(log_path, "".join(json.dumps(r, sort_keys=True) + "\n"
                                            for r in kept))
        print("resuming from iteration %d" % start, flush=True)
    else:
        start = 0
        write_text_atomic(log_path, "")

    val_patches = validation_patches(val_set, args) if val_set else None
    if val_patches is not None and start == 0:
        base = hole_l1(trainer.gen, val_patches, args.hole_size, trainer.device, 16)
        append_log(log_path, {"event": "baseline", "iteration": 0,
                              "val_blank_fill_l1": base["blank"],
                              "val_mean_fill_l1": base["mean"],
                              "val_untrained_l1": base["model"],
                              "train_slices": len(train_set), "val_slices": len(val_set)})
    if start >= args.iterations:
        print("already at iteration %d (>= --iterations %d): nothing to do"
              % (start, args.iterations))
        return 0

    dataset = BatchDataset(train_set, args)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, sampler=range(start + 1, args.iterations + 1),
        num_workers=args.workers, pin_memory=args.device == "cuda",
        persistent_workers=False)

    trainer.gen.train()
    last_log = time.monotonic()
    last_log_it = start
    sums, counts = {}, {}
    for iteration, crops, box, hole in loader:
        tick = time.monotonic()
        losses = trainer.step(iteration, crops, tuple(box.tolist()), tuple(hole.tolist()))
        for k, v in losses.items():
            if not math.isfinite(v):
                raise TrainError("iteration %d: loss %s is %r; lower --lr or check the "
                                 "slices" % (iteration, k, v))
            sums[k] = sums.get(k, 0.0) + v
            counts[k] = counts.get(k, 0) + 1
        trainer.elapsed += time.monotonic() - tick

        if iteration % args.log_interval == 0 or iteration == args.iterations:
            now = time.monotonic()
            record = {"event": "train", "iteration": iteration,
                      "time": round(trainer.elapsed, 3),
                      "it_per_s": round((iteration - last_log_it) / max(now - last_log, 1e-9),
                                        4)}
            record.update({k: sums[k] / counts[k] for k in sums})
            append_log(log_path, record)
            print("it %d  %s  (%.3g it/s)" % (
                iteration, "  ".join("%s %.4g" % (k, record[k]) for k in sorted(sums)),
                record["it_per_s"]), flush=True)
            sums, counts = {}, {}
            last_log, last_log_it = now, iteration

        if iteration % args.checkpoint_interval == 0 or iteration == args.iterations:
            trainer.save(iteration)
            if val_patches is not None:
                scores = hole_l1(trainer.gen, val_patches, args.hole_size, trainer.device, 16)
                record = {"event": "validation", "iteration": iteration,
                          "time": round(trainer.elapsed, 3), "val_hole_l1": scores["model"]}
                append_log(log_path, record)
                best = best_from_log(read_log(log_path))
                write_best(args.output, best)
                print("it %d  held-out hole L1 %.5f (best %.5f at %d)"
                      % (iteration, scores["model"], best["val_hole_l1"], best["iteration"]),
                      flush=True)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        return train(args)
    except TrainError as error:
        print("train: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
