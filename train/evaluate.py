"""Does a trained model see lesions?  PICARD's MCD heatmaps against a trivial baseline on
phantom volumes with lesions, PyTorch side.

For every slice that holds a lesion box (BCS-DBT's boxes CSV: the box is given on the
lesion's central slice), the slice is written by ``picard-cli slices`` (left-aligned 8-bit,
as the model was trained), and heatmaps are made by

* MCD-image: sliding PxP windows (top-left corners at multiples of the stride, windows fully
  inside the slice), the centred HxH square hidden, M completions with spatial dropout on
  (the reference layer set, p 0.5), score = min over M of the L2 norm between the hidden
  truth and the completion over the HxH square (values in [-1, 1]) -- SPEC.md section 1;
* MCD-feature: the same with both squares passed through the local critic's conv stack;
* M = 1: one completion;
* baseline: a local intensity z-score, (mean over the HxH box - mean over the PxP box) /
  standard deviation over the PxP box, around every pixel;

the lattice of scores stretched over the slice by bicubic interpolation (align_corners False),
as PICARD's released code does.  Pixels inside a box of that slice are positive, all others
(background included) negative; per-slice pixel ROC AUC and average precision (scikit-learn),
then their means.

Windows without tissue (maximum <= -0.99) are not run through the network; they score 0,
the value a completion of an empty window gets up to noise.

Usage: /usr/bin/python3 -m train.evaluate --model DIR --phantoms DIR [options]
(DIR of --phantoms as written by ``picard-cli phantom``; --make-phantoms generates them.)
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from sklearn.metrics import average_precision_score, roc_auc_score

from train import picard_model as pm
from train import train as tr


def load_model(folder, iteration=None):
    """Generator and local critic of a trainer's folder: best.txt's pair unless @iteration."""
    with open(os.path.join(folder, tr.CONFIG_NAME)) as stream:
        config = json.load(stream)
    if iteration is None:
        best = tr.read_best(folder)
        if best is None:
            raise tr.TrainError("%s has no best.txt; give --iteration" % folder)
        gen_path, dis_path = best[2], best[3]
    else:
        gen_path = os.path.join(folder, "gen_%08d.pt" % iteration)
        dis_path = os.path.join(folder, "dis_%08d.pt" % iteration)
    gen = pm.Generator(config["input_dim"], config["cnum"])
    gen.load_state_dict(torch.load(gen_path, map_location="cpu"))
    local = tr.sized_critic(pm.LocalDis, config["hole_size"])(config["input_dim"],
                                                              config["ndf"])
    local.load_state_dict(torch.load(dis_path, map_location="cpu")["localD"])
    gen.eval()
    local.eval()
    return gen, local, config, gen_path


def read_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as stream:
        return list(csv.DictReader(stream))


def slice_pngs(cli, volume, view, frames, folder):
    """{frame: (aligned uint8 slice, mirrored?)}; the mirror is read off by comparing the
    aligned slice with the data set's orientation (where the boxes are given)."""
    out = {}
    for frame in frames:
        aligned_dir = os.path.join(folder, "aligned")
        dataset_dir = os.path.join(folder, "dataset")
        for target, extra in ((aligned_dir, []), (dataset_dir, ["--no-align"])):
            subprocess.run([cli, "slices", volume, "-o", target, "--view", view,
                            "--frames", str(frame), "--quiet"] + extra, check=True)
        name = "slice_%04d.png" % frame
        aligned, _ = tr.read_slice(os.path.join(aligned_dir, name))
        dataset, _ = tr.read_slice(os.path.join(dataset_dir, name))
        if np.array_equal(aligned, dataset):
            mirrored = False
        elif np.array_equal(aligned, dataset[:, ::-1]):
            mirrored = True
        else:
            raise tr.TrainError("%s frame %d: aligned slice is neither the data set's slice "
                                "nor its mirror" % (volume, frame))
        out[frame] = (aligned, mirrored)
    return out


def lattice(size, patch, stride):
    return list(range(0, size - patch + 1, stride))


@torch.no_grad()
def mcd_grids(gen, local, image, patch, hole, stride, m, batch, seed):
    """Score grids (n_h x n_w) of MCD-image, MCD-feature and M=1 for one slice in [-1, 1]."""
    ys, xs = lattice(image.shape[0], patch, stride), lattice(image.shape[1], patch, stride)
    grids = {k: np.zeros((len(ys), len(xs))) for k in ("mcd_image", "mcd_feature", "m1_image")}
    start = (patch - hole) // 2
    mask = torch.zeros(1, 1, patch, patch)
    mask[:, :, start:start + hole, start:start + hole] = 1.0
    windows = [(i, j) for i, y in enumerate(ys) for j, x in enumerate(xs)
               if image[y:y + patch, x:x + patch].max() > -0.99]
    tensor = torch.from_numpy(image)
    rng = torch.Generator().manual_seed(seed)
    gen.set_dropout(True)
    try:
        for first in range(0, len(windows), batch):
            chunk = windows[first:first + batch]
            gt = torch.stack([tensor[ys[i]:ys[i] + patch, xs[j]:xs[j] + patch]
                              for i, j in chunk])[:, None]
            n = gt.shape[0]
            rep = gt.repeat_interleave(m, dim=0)
            masks = mask.expand(rep.shape[0], -1, -1, -1)
            _, x2, _ = gen(rep * (1.0 - masks), masks, generator=rng)
            comp = pm.complete(rep * (1.0 - masks), x2, masks)
            sq_c = comp[:, :, start:start + hole, start:start + hole]
            sq_t = rep[:, :, start:start + hole, start:start + hole]
            l2 = (sq_c - sq_t).flatten(1).norm(dim=1).view(n, m)
            feats_c = pm.critic_features(local, sq_c)
            feats_t = pm.critic_features(local, sq_t)
            lf = (feats_c - feats_t).norm(dim=1).view(n, m)
            for k, (i, j) in enumerate(chunk):
                grids["mcd_image"][i, j] = l2[k].min().item()
                grids["mcd_feature"][i, j] = lf[k].min().item()
                grids["m1_image"][i, j] = l2[k, 0].item()
    finally:
        gen.set_dropout(False)
    return grids, len(windows), len(ys) * len(xs)


def stretch(grid, shape):
    """PICARD's heatmap: the lattice stretched over the slice, bicubic, align_corners False."""
    t = torch.from_numpy(grid).float()[None, None]
    return F.interpolate(t, size=shape, mode="bicubic", align_corners=False)[0, 0].numpy()


def zscore_map(image, patch, hole):
    """(mean over the HxH box - mean over the PxP box) / std over the PxP box, per pixel."""
    img = image.astype(np.float64)
    small = ndimage.uniform_filter(img, hole, mode="constant")
    big = ndimage.uniform_filter(img, patch, mode="constant")
    big_sq = ndimage.uniform_filter(img * img, patch, mode="constant")
    std = np.sqrt(np.maximum(big_sq - big * big, 0.0))
    return (small - big) / (std + 1e-3)


def box_labels(shape, boxes, mirrored):
    labels = np.zeros(shape, dtype=bool)
    columns = shape[1]
    for x, y, w, h in boxes:
        if mirrored:
            x = columns - x - w
        labels[max(y, 0):y + h, max(x, 0):x + w] = True
    return labels


def make_phantoms(cli, folder, seed, count, rows, columns, frames):
    subprocess.run([cli, "phantom", "-o", folder, "--seed", str(seed), "--count", str(count),
                    "--rows", str(rows), "--columns", str(columns), "--frames", str(frames),
                    "--masses", "2", "--calcifications", "1"], check=True)


def evaluate(args):
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    gen, local, config, gen_path = load_model(args.model, args.iteration)
    patch, hole = config["patch_size"], config["hole_size"]
    stride = args.stride or patch // 8
    paths = {(r["PatientID"], r["StudyUID"], r["View"]): r
             for r in read_rows(os.path.join(args.phantoms, "BCS-DBT-file-paths.csv"))}
    boxes = {}
    for r in read_rows(os.path.join(args.phantoms, "BCS-DBT-boxes.csv")):
        key = (r["PatientID"], r["StudyUID"], r["View"])
        boxes.setdefault((key, int(r["Slice"])), []).append(
            (int(r["X"]), int(r["Y"]), int(r["Width"]), int(r["Height"])))
    if not boxes:
        raise tr.TrainError("%s lists no lesion boxes: evaluate on phantoms with lesions"
                            % args.phantoms)
    items = sorted(boxes)[:args.max_slices] if args.max_slices else sorted(boxes)
    methods = ("mcd_image", "mcd_feature", "m1_image", "zscore")
    per_slice = []
    with tempfile.TemporaryDirectory(prefix="picard-eval-") as tmp:
        for n, (key, frame) in enumerate(items):
            row = paths[key]
            folder = os.path.join(tmp, "%d" % n)
            volume = os.path.join(args.phantoms, row[args.path_column])
            (pixels, mirrored), = slice_pngs(args.picard_cli, volume, row["View"], [frame],
                                             folder).values()
            image = pixels.astype(np.float32) / 255.0 * 2.0 - 1.0
            labels = box_labels(image.shape, boxes[(key, frame)], mirrored)
            tick = time.monotonic()
            grids, run, total = mcd_grids(gen, local, image, patch, hole, stride, args.m,
                                          args.batch, args.seed)
            heat = {k: stretch(g, image.shape) for k, g in grids.items()}
            heat["zscore"] = zscore_map(image, patch, hole)
            record = {"patient": key[0], "view": key[2], "slice": frame,
                      "positive_pixels": int(labels.sum()), "windows_run": run,
                      "windows": total, "seconds": round(time.monotonic() - tick, 1)}
            for k in methods:
                record[k + "_auc"] = float(roc_auc_score(labels.ravel(), heat[k].ravel()))
                record[k + "_ap"] = float(average_precision_score(labels.ravel(),
                                                                  heat[k].ravel()))
            per_slice.append(record)
            print("%s %s slice %d: %s (%d windows, %.0f s)" % (
                key[0], key[2], frame, "  ".join("%s AUC %.3f AP %.3f" % (
                    k, record[k + "_auc"], record[k + "_ap"]) for k in methods), run,
                record["seconds"]), flush=True)
    summary = {"model": gen_path, "phantoms": os.path.abspath(args.phantoms),
               "patch": patch, "hole": hole, "stride": stride, "m": args.m,
               "slices": len(per_slice)}
    for k in methods:
        summary[k + "_auc"] = float(np.mean([r[k + "_auc"] for r in per_slice]))
        summary[k + "_ap"] = float(np.mean([r[k + "_ap"] for r in per_slice]))
    result = {"summary": summary, "per_slice": per_slice}
    if args.output:
        tr.write_text_atomic(args.output, json.dumps(result, indent=2) + "\n")
    names = {"mcd_image": "MCD-image (M=%d)" % args.m,
             "mcd_feature": "MCD-feature (M=%d)" % args.m,
             "m1_image": "MCD-image, M=1", "zscore": "baseline: local z-score"}
    print("\n| method | mean pixel AUC | mean pixel AP |\n|---|---|---|")
    for k in methods:
        print("| %s | %.3f | %.3f |" % (names[k], summary[k + "_auc"], summary[k + "_ap"]))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m train.evaluate",
                                description="Pixel AUC/AP of PICARD's MCD heatmaps against a "
                                            "local z-score baseline on phantoms with lesions.")
    p.add_argument("--model", required=True, help="the trainer's output folder (best.txt)")
    p.add_argument("--iteration", type=int, help="checkpoint to use (default: best.txt's)")
    p.add_argument("--phantoms", required=True,
                   help="folder written by 'picard-cli phantom' (with lesions)")
    p.add_argument("--make-phantoms", action="store_true",
                   help="generate --count phantoms with lesions into --phantoms first")
    p.add_argument("--seed-phantoms", type=int, default=7000,
                   help="first phantom seed for --make-phantoms (7000)")
    p.add_argument("--count", type=int, default=3, help="phantoms to generate (3)")
    p.add_argument("--rows", type=int, default=614)
    p.add_argument("--columns", type=int, default=499)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--path-column", default="classic_path")
    p.add_argument("--picard-cli", default=None,
                   help="picard-cli (default: $PICARD_CLI, build/, PATH)")
    p.add_argument("--stride", type=int, default=0,
                   help="window stride (default P/8: 32 for 256, as the paper)")
    p.add_argument("--m", type=int, default=10, help="completions per window (10)")
    p.add_argument("--batch", type=int, default=8, help="windows per forward pass (8)")
    p.add_argument("--seed", type=int, default=1337, help="dropout seed (1337)")
    p.add_argument("--max-slices", type=int, default=0, help="evaluate at most N slices")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: one per core)")
    p.add_argument("-o", "--output", help="write the per-slice and mean results as JSON")
    args = p.parse_args(argv)
    if args.picard_cli is None:
        args.picard_cli = tr.default_picard_cli()
    if args.m < 1 or args.batch < 1 or args.stride < 0:
        p.error("--m and --batch must be positive, --stride non-negative")
    try:
        if args.make_phantoms:
            make_phantoms(args.picard_cli, args.phantoms, args.seed_phantoms, args.count,
                          args.rows, args.columns, args.frames)
        return evaluate(args)
    except (tr.TrainError, subprocess.CalledProcessError, OSError) as error:
        print("evaluate: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
