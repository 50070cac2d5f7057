"""The PICARD scan driven by PyTorch, timed: the peer of tests/bench-scan.c.

This is what PICARD's released code does for a slice: a Python loop cuts the sliding-window
patches (top-left corners at multiples of the stride, windows fully inside the slice), hides
the centred H x H square, runs the generator M times per patch with spatial dropout on (the
released layer set, p 0.5), and scores each patch by the distances between the hidden truth
and the M completions, in image space and in the local critic's feature space (SPEC.md
section 1).  It uses the project's reference model, train/picard_model.py.

Only a rectangle of the slice's lattice is timed (rows --row0 .. --row0+--rows-1, columns
--col0 .. --col0+--cols-1; --rows 0 and --cols 0 mean to the end), so that a benchmark on a
CPU can time a representative part of a slice and extrapolate.

Usage: /usr/bin/python3 -m train.bench_scan --checkpoint DIR --slice SLICE.npy -P 256 -H 128
         --stride 32 -M 10 [--row0 I --rows N --col0 J --cols K] [--batch B] [--threads T]

SLICE.npy holds the slice as float32 in [0, 1] (rows x columns).  The result is printed as
``key value`` lines: patches, completions, seconds (the timed scan, warm-up excluded),
cpu_seconds (this process's CPU time over the same span), warmup_seconds, batch, threads,
device, mean_mcd_image, mean_mcd_feature, and no_dropout_distance: the image distance of the
first patch's completion with dropout off (deterministic, for comparing with another scan).
"""

import argparse
import glob
import os
import re
import sys
import time

import numpy as np
import torch

from train import picard_model as pm


def sized_critic(size):
    """The local critic for H x H crops (its Linear layer follows the size)."""
    if size == pm.LocalDis.image_size:
        return pm.LocalDis
    return type("LocalDis%d" % size, (pm.LocalDis,), {"image_size": size})


def latest(folder, prefix):
    """The checkpoint of @prefix (gen, dis) with the highest iteration in @folder."""
    best = None
    for path in glob.glob(os.path.join(folder, prefix + "_*.pt")):
        match = re.match(re.escape(prefix) + r"_(\d+)\.pt$", os.path.basename(path))
        if match and (best is None or int(match.group(1)) > best[0]):
            best = (int(match.group(1)), path)
    if best is None:
        raise SystemExit("bench_scan: %s holds no %s_*.pt checkpoint" % (folder, prefix))
    return best[1]


def load(folder, hole, device):
    """Generator and local critic; widths and channels read off the tensors."""
    gen_sd = torch.load(latest(folder, "gen"), map_location="cpu")
    dis_sd = torch.load(latest(folder, "dis"), map_location="cpu")["localD"]
    first = gen_sd["coarse_generator.conv1.conv.weight"]
    cnum, input_dim = first.shape[0], first.shape[1] - 2
    ndf = dis_sd["dis_conv_module.conv1.conv.weight"].shape[0]
    gen = pm.Generator(input_dim, cnum)
    gen.load_state_dict(gen_sd)
    local = sized_critic(hole)(input_dim, ndf)
    local.load_state_dict(dis_sd)
    gen.eval()
    local.eval()
    gen.set_dropout(True, pm.DEFAULT_DROPOUT_LAYERS, 0.5)
    return gen.to(device), local.to(device), cnum


@torch.no_grad()
def score_batch(gen, local, slice_t, corners, patch, hole, m, mask, rng):
    """Completes every patch of @corners M times; returns (n x M image distances,
    n x M feature distances)."""
    start = (patch - hole) // 2
    gt = torch.stack([slice_t[y:y + patch, x:x + patch] for y, x in corners])[:, None]
    gt = gt * 2.0 - 1.0
    rep = gt.repeat_interleave(m, dim=0)
    masks = mask.expand(rep.shape[0], -1, -1, -1)
    hidden = rep * (1.0 - masks)
    _, x2, _ = gen(hidden, masks, generator=rng)
    comp = pm.complete(hidden, x2, masks)
    crop_c = comp[:, :, start:start + hole, start:start + hole]
    crop_t = gt[:, :, start:start + hole, start:start + hole]
    n = len(corners)
    image = (crop_c - crop_t.repeat_interleave(m, dim=0)).flatten(1).norm(dim=1).view(n, m)
    feat_c = pm.critic_features(local, crop_c.contiguous())
    feat_t = pm.critic_features(local, crop_t.contiguous()).repeat_interleave(m, dim=0)
    feature = (feat_c - feat_t).norm(dim=1).view(n, m)
    return image, feature


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m train.bench_scan",
                                description="Time PICARD's scan of a slice, PyTorch-driven.")
    p.add_argument("--checkpoint", required=True, help="folder with gen_*.pt and dis_*.pt")
    p.add_argument("--slice", required=True, help="float32 .npy, rows x columns in [0, 1]")
    p.add_argument("-P", "--patch", type=int, default=256)
    p.add_argument("-H", "--hole", type=int, default=128)
    p.add_argument("--stride", type=int, default=32)
    p.add_argument("-M", "--samples", type=int, default=10)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--row0", type=int, default=0, help="first lattice row timed")
    p.add_argument("--rows", type=int, default=0, help="lattice rows timed (0: to the end)")
    p.add_argument("--col0", type=int, default=0, help="first lattice column timed")
    p.add_argument("--cols", type=int, default=0, help="lattice columns timed (0: to the end)")
    p.add_argument("--batch", type=int, default=32,
                   help="patches per generator call (32, as PICARD's code)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: one per core)")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    args = p.parse_args(argv)
    if (args.patch <= args.hole or (args.patch - args.hole) % 2 or args.stride < 1
            or args.samples < 1 or args.batch < 1 or min(args.row0, args.col0) < 0
            or min(args.rows, args.cols) < 0):
        p.error("need P > H with P - H even, and positive stride, M and batch")
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    device = torch.device(args.device)

    image = np.load(args.slice)
    if image.ndim != 2 or image.dtype != np.float32:
        p.error("%s must hold a 2-D float32 array" % args.slice)
    n_h = (image.shape[0] - args.patch) // args.stride + 1
    n_w = (image.shape[1] - args.patch) // args.stride + 1
    rows = args.rows or n_h - args.row0
    cols = args.cols or n_w - args.col0
    if image.shape[0] < args.patch or image.shape[1] < args.patch \
            or args.row0 + rows > n_h or args.col0 + cols > n_w or rows < 1 or cols < 1:
        p.error("the lattice rectangle lies outside the slice's %d x %d lattice" % (n_h, n_w))
    corners = [(i * args.stride, j * args.stride)
               for i in range(args.row0, args.row0 + rows)
               for j in range(args.col0, args.col0 + cols)]

    gen, local, _ = load(args.checkpoint, args.hole, device)
    slice_t = torch.from_numpy(image).to(device)
    start = (args.patch - args.hole) // 2
    mask = torch.zeros(1, 1, args.patch, args.patch, device=device)
    mask[:, :, start:start + args.hole, start:start + args.hole] = 1.0
    rng = torch.Generator(device=device).manual_seed(args.seed)

    # A check that both sides compute the same thing: without dropout a completion is
    # deterministic, so the first patch's image distance must equal the C scan's.
    gen.set_dropout(False)
    check, _ = score_batch(gen, local, slice_t, corners[:1], args.patch, args.hole, 1, mask,
                           rng)
    gen.set_dropout(True)

    # Warm-up (one completion and its critic feature): PyTorch picks its kernels on first use.
    tick = time.perf_counter()
    score_batch(gen, local, slice_t, corners[:1], args.patch, args.hole, 1, mask, rng)
    sync(device)
    warmup = time.perf_counter() - tick

    image_d, feature_d = [], []
    cpu = time.process_time()
    tick = time.perf_counter()
    for first in range(0, len(corners), args.batch):
        i_d, f_d = score_batch(gen, local, slice_t, corners[first:first + args.batch],
                               args.patch, args.hole, args.samples, mask, rng)
        # The scores are read back per batch, as a scan that reports progress does.
        image_d.append(i_d.cpu())
        feature_d.append(f_d.cpu())
    sync(device)
    seconds = time.perf_counter() - tick
    cpu = time.process_time() - cpu
    image_d = torch.cat(image_d)
    feature_d = torch.cat(feature_d)
    out = {"patches": len(corners), "completions": len(corners) * args.samples,
           "seconds": "%.3f" % seconds, "cpu_seconds": "%.3f" % cpu,
           "warmup_seconds": "%.3f" % warmup, "batch": args.batch,
           "threads": torch.get_num_threads(), "device": device.type,
           "mean_mcd_image": "%.4f" % image_d.min(dim=1).values.mean().item(),
           "mean_mcd_feature": "%.4f" % feature_d.min(dim=1).values.mean().item(),
           "no_dropout_distance": "%.6f" % check[0, 0].item()}
    for key, value in out.items():
        print("%s %s" % (key, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
