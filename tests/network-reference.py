"""PyTorch side of tests/test-network.c: random checkpoints, and the reference outputs.

  network-reference.py checkpoint DIR --cnum C --input-dim D --ndf N
  network-reference.py run DIR --crop Y,X,S [--dropout MASKDIR --dropout-p P] --out OUTDIR

``run`` loads DIR/gen_00000000.pt and DIR/dis_00000000.pt, DIR/x.npy and DIR/mask.npy, and
writes x_stage1, x_stage2, completion, attention, pmconv6, offsets, features (the local
critic's on the completion's crop) and scores as .npy files.  With --dropout, every
MASKDIR/<layer>.npy (N x C of 0/1 keep flags) is given to the generator as its mask.
"""

import argparse
import glob
import os
import sys

import numpy as np
import torch

from train import picard_model as pm


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    ck = sub.add_parser("checkpoint")
    ck.add_argument("dir")
    ck.add_argument("--cnum", type=int, required=True)
    ck.add_argument("--input-dim", type=int, required=True)
    ck.add_argument("--ndf", type=int, required=True)
    bench = sub.add_parser("bench")
    bench.add_argument("dir")
    bench.add_argument("--size", type=int, default=256)
    bench.add_argument("--hole", type=int, default=128)
    bench.add_argument("--reps", type=int, default=2)
    bench.add_argument("--cuda-batch", type=int, default=32)
    run = sub.add_parser("run")
    run.add_argument("dir")
    run.add_argument("--crop", required=True)
    run.add_argument("--dropout")
    run.add_argument("--dropout-p", type=float, default=0.5)
    run.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)

    if args.command == "checkpoint":
        gen_path, dis_path = pm.write_random_checkpoint(args.dir, args.cnum, args.input_dim,
                                                        args.ndf, seed=1)
        # PyTorch's default initialisation shrinks the signal layer after layer, so that the
        # output hardly depends on the middle layers (nor on their dropout): He-scaled weights
        # keep every layer's contribution visible.
        torch.manual_seed(2)
        for path, key in ((gen_path, None), (dis_path, "localD"), (dis_path, "globalD")):
            whole = torch.load(path, map_location="cpu")
            sd = whole if key is None else whole[key]
            for name, tensor in sd.items():
                if name.endswith("conv.weight") or name.endswith("linear.weight"):
                    fan_in = tensor[0].numel()
                    tensor.normal_(0.0, (2.0 / fan_in) ** 0.5)
                elif name.endswith("bias"):
                    tensor.normal_(0.0, 0.05)
            torch.save(whole, path)
        return 0

    if args.command == "bench":
        return benchmark(args)

    gen_sd = torch.load(os.path.join(args.dir, "gen_00000000.pt"), map_location="cpu")
    dis_sd = torch.load(os.path.join(args.dir, "dis_00000000.pt"), map_location="cpu")
    input_dim = gen_sd["coarse_generator.conv1.conv.weight"].shape[1] - 2
    cnum = gen_sd["coarse_generator.conv1.conv.weight"].shape[0]
    ndf = dis_sd["localD"]["dis_conv_module.conv1.conv.weight"].shape[0]
    gen = pm.Generator(input_dim, cnum)
    gen.load_state_dict(gen_sd)
    local = pm.LocalDis(input_dim, ndf)
    local.load_state_dict(dis_sd["localD"])
    gen.eval()
    local.eval()

    x = torch.from_numpy(np.load(os.path.join(args.dir, "x.npy")))
    mask = torch.from_numpy(np.load(os.path.join(args.dir, "mask.npy")))
    masks = None
    p = 0.0
    if args.dropout:
        p = args.dropout_p
        gen.set_dropout(False, None, p)
        masks = {}
        for path in glob.glob(os.path.join(args.dropout, "*.npy")):
            name = os.path.basename(path)[:-4]
            masks[name] = torch.from_numpy(np.load(path))
    y0, x0, size = (int(v) for v in args.crop.split(","))
    with torch.no_grad():
        xs1, xs2, offsets, rec = gen(x, mask, dropout_masks=masks, return_intermediates=True)
        completion = pm.complete(x, xs2, mask)
        crops = completion[:, :, y0:y0 + size, x0:x0 + size].contiguous()
        features = pm.critic_features(local, crops)
        scores = local(crops) if size == 128 else torch.zeros(0)
    if masks is not None and set(rec["dropout_masks"]) != set(masks):
        print("not every mask was used", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    outputs = {"x_stage1": xs1, "x_stage2": xs2, "completion": completion,
               "attention": rec["attention"], "pmconv6": rec["pmconv6"], "offsets": offsets,
               "features": features, "scores": scores}
    for name, value in outputs.items():
        np.save(os.path.join(args.out, name + ".npy"),
                np.ascontiguousarray(value.numpy().astype(np.float32)))
    return 0


def benchmark(args):
    """Completions per second of size x size patches with a centred hole, dropout on the
    released layer set (p 0.5), as tests/bench-network.c measures the C backends: on the CPU
    the best over 1..all threads and batches of 1 and 4, printed as "rate threads batch"; on
    a CUDA device (where this torch has one) batches of --cuda-batch, "rate cuda batch"."""
    import glob
    import time
    gen_path = sorted(glob.glob(os.path.join(args.dir, "gen_*.pt")))[-1]
    gen_sd = torch.load(gen_path, map_location="cpu")
    cnum = gen_sd["coarse_generator.conv1.conv.weight"].shape[0]
    input_dim = gen_sd["coarse_generator.conv1.conv.weight"].shape[1] - 2
    gen = pm.Generator(input_dim, cnum)
    gen.load_state_dict(gen_sd)
    gen.eval()
    gen.set_dropout(True, pm.DEFAULT_DROPOUT_LAYERS, 0.5)
    s, h = args.size, args.hole
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    gen.to(device)

    def rate(batch):
        x = torch.rand(batch, input_dim, s, s, device=device) * 2 - 1
        mask = torch.zeros(batch, 1, s, s, device=device)
        mask[:, :, (s - h) // 2:(s + h) // 2, (s - h) // 2:(s + h) // 2] = 1
        x = x * (1 - mask)
        with torch.no_grad():
            gen(x, mask)
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.reps):
                gen(x, mask)
            if cuda:
                torch.cuda.synchronize()
            return batch * args.reps / (time.perf_counter() - start)

    if cuda:
        print("%.4f cuda %d" % (rate(args.cuda_batch), args.cuda_batch))
        return 0
    best = (0.0, 0, 0)
    for threads in range(1, (os.cpu_count() or 1) + 1):
        torch.set_num_threads(threads)
        for batch in (1, 4):
            best = max(best, (rate(batch), threads, batch))
    print("%.4f %d %d" % best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
