"""Tests of train/picard_model.py: names, sizes, the attention against a loop-by-loop
reading of SPEC section 2, dropout and the random-checkpoint CLI."""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from train import picard_model as pm  # noqa: E402

COARSE_LAYERS = ["conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
                 "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous", "conv11",
                 "conv12", "conv13", "conv14", "conv15", "conv16", "conv17"]
FINE_LAYERS = ["conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
               "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous", "pmconv1",
               "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5", "pmconv6",
               "pmconv9", "pmconv10", "allconv11", "allconv12", "allconv13", "allconv14",
               "allconv15", "allconv16", "allconv17"]


def expected_generator_keys():
    keys = []
    for prefix, layers in (("coarse_generator", COARSE_LAYERS), ("fine_generator", FINE_LAYERS)):
        for layer in layers:
            keys.append("%s.%s.conv.weight" % (prefix, layer))
            keys.append("%s.%s.conv.bias" % (prefix, layer))
    return keys


def hole_batch(n, channels, size, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, size, size, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, size, size)
    q = size // 4
    mask[:, :, q:size - q, q:size - q] = 1
    return x * (1 - mask), mask, x


def reference_attention(f, mask0):
    """SPEC steps 1-7 for one sample, element by element (rate 2, ksize 3, fuse 3)."""
    f = f.double().numpy()
    c, h, w = f.shape
    hb, wb = h // 2, w // 2
    lcount = hb * wb
    fd = f[:, ::2, ::2]

    def at(img, y, x):
        if 0 <= y < img.shape[-2] and 0 <= x < img.shape[-1]:
            return img[..., y, x]
        return np.zeros(img.shape[:-2])

    # 1. raw 4x4 patches, stride 2, TF same padding: one row/column of zeros top/left.
    raw = np.zeros((lcount, c, 4, 4))
    for l in range(lcount):
        pi, pj = divmod(l, wb)
        for a in range(4):
            for b in range(4):
                raw[l, :, a, b] = at(f, 2 * pi - 1 + a, 2 * pj - 1 + b)
    # 2. and 4. normalised 3x3 matching patches of the downsampled background.
    wpat = np.zeros((lcount, c, 3, 3))
    for l in range(lcount):
        pi, pj = divmod(l, wb)
        for a in range(3):
            for b in range(3):
                wpat[l, :, a, b] = at(fd, pi - 1 + a, pj - 1 + b)
    norm = np.sqrt(np.sum(wpat ** 2 + 1e-4, axis=(1, 2, 3)))
    # 3. the mask at 1/8, one flag per background patch.
    md = mask0[::8, ::8].double().numpy()
    mm = np.zeros(lcount)
    for l in range(lcount):
        pi, pj = divmod(l, wb)
        hole = sum(at(md, pi - 1 + a, pj - 1 + b) for a in range(3) for b in range(3))
        mm[l] = 1.0 if hole == 0 else 0.0
    score = np.zeros((lcount, lcount))
    for lb in range(lcount):
        for lf in range(lcount):
            fi, fj = divmod(lf, wb)
            patch = np.zeros((c, 3, 3))
            for a in range(3):
                for b in range(3):
                    patch[:, a, b] = at(fd, fi - 1 + a, fj - 1 + b)
            score[lb, lf] = np.sum(patch * wpat[lb]) / norm[lb]
    # 5. fuse along diagonals in row-major order, then in column-major order.
    fused = np.zeros_like(score)
    for i in range(lcount):
        for j in range(lcount):
            fused[i, j] = sum(score[i + d, j + d] for d in (-1, 0, 1)
                              if 0 <= i + d < lcount and 0 <= j + d < lcount)

    def tr(l):
        pi, pj = divmod(l, wb)
        return pj * hb + pi
    inv = {tr(l): l for l in range(lcount)}
    fused2 = np.zeros_like(score)
    for i in range(lcount):
        for j in range(lcount):
            ti, tj = tr(i), tr(j)
            total = 0.0
            for d in (-1, 0, 1):
                if 0 <= ti + d < lcount and 0 <= tj + d < lcount:
                    total += fused[inv[ti + d], inv[tj + d]]
            fused2[i, j] = total
    # 6. masked softmax over the background patches.
    z = 10.0 * fused2 * mm[:, None]
    z = np.exp(z - z.max(axis=0, keepdims=True))
    att = z / z.sum(axis=0, keepdims=True) * mm[:, None]
    # 7. paste the raw patches, stride 2, padding 1, divided by 4.
    out = np.zeros((c, h, w))
    for lf in range(lcount):
        fi, fj = divmod(lf, wb)
        for lb in range(lcount):
            for a in range(4):
                for b in range(4):
                    y, x = 2 * fi - 1 + a, 2 * fj - 1 + b
                    if 0 <= y < h and 0 <= x < w:
                        out[:, y, x] += att[lb, lf] * raw[lb, :, a, b] / 4.0
    return out


class ModelTest(unittest.TestCase):
    def test_parameter_counts(self):
        gen = pm.Generator(1, 32)
        self.assertEqual(pm.count_parameters(gen), 3596162)
        self.assertEqual(pm.count_parameters(gen.coarse_generator), 1446337)
        self.assertEqual(pm.count_parameters(gen.fine_generator), 2149825)
        local = pm.LocalDis(1, 32)
        self.assertEqual(pm.count_parameters(local), 674945)
        # The global critic differs only in its linear layer: 4d*16*16 inputs.
        glob = pm.GlobalDis(1, 32)
        self.assertEqual(pm.count_parameters(glob), 674945 - (128 * 64 + 1) + (128 * 256 + 1))
        self.assertEqual(tuple(glob.linear.weight.shape), (1, 4 * 32 * 16 * 16))

    def test_state_dict_keys(self):
        sd = pm.Generator(1, 32).state_dict()
        self.assertEqual(len(sd), 84)
        self.assertEqual(list(sd.keys()), expected_generator_keys())
        for name in ("localD", "globalD"):
            model = pm.LocalDis(1, 32) if name == "localD" else pm.GlobalDis(1, 32)
            keys = list(model.state_dict().keys())
            want = ["dis_conv_module.conv%d.conv.%s" % (i, t) for i in range(1, 5)
                    for t in ("weight", "bias")] + ["linear.weight", "linear.bias"]
            self.assertEqual(keys, want)
        # A few shapes that pin down the architecture.
        self.assertEqual(tuple(sd["coarse_generator.conv1.conv.weight"].shape), (32, 3, 5, 5))
        self.assertEqual(tuple(sd["coarse_generator.conv16.conv.weight"].shape), (16, 32, 3, 3))
        self.assertEqual(tuple(sd["fine_generator.conv2_downsample.conv.weight"].shape),
                         (32, 32, 3, 3))
        self.assertEqual(tuple(sd["fine_generator.allconv11.conv.weight"].shape),
                         (128, 256, 3, 3))
        self.assertEqual(tuple(sd["fine_generator.allconv17.conv.weight"].shape), (1, 16, 3, 3))

    def test_shapes_range_and_completion(self):
        for input_dim in (1, 3):
            torch.manual_seed(3)
            gen = pm.Generator(input_dim, 8)
            # Large output weights make the clamp matter, so the range check means something.
            with torch.no_grad():
                gen.fine_generator.allconv17.conv.weight.mul_(200.0)
                gen.coarse_generator.conv17.conv.weight.mul_(200.0)
            x, mask, _ = hole_batch(2, input_dim, 64, 1)
            with torch.no_grad():
                s1, s2, flow = gen(x, mask)
            self.assertEqual(tuple(s1.shape), (2, input_dim, 64, 64))
            self.assertEqual(tuple(s2.shape), (2, input_dim, 64, 64))
            self.assertEqual(tuple(flow.shape), (2, 2, 8, 8))
            for out in (s1, s2):
                self.assertLessEqual(out.max().item(), 1.0)
                self.assertGreaterEqual(out.min().item(), -1.0)
                self.assertTrue(bool(((out == 1.0) | (out == -1.0)).any()))
            done = pm.complete(x, s2, mask)
            outside = mask.expand_as(x) == 0
            self.assertTrue(torch.equal(done[outside], x[outside]))
            self.assertTrue(torch.equal(done[~outside], s2[~outside]))

    def test_attention_matches_spec(self):
        torch.manual_seed(5)
        f = torch.randn(2, 3, 12, 16)
        mask = torch.zeros(2, 1, 48, 64)
        mask[0, :, 8:30, 16:40] = 1
        mask[1, :, 0:10, 0:10] = 1  # ignored: only the first sample's mask counts
        y, offsets = pm.contextual_attention(f, f, mask)
        self.assertEqual(tuple(y.shape), (2, 3, 12, 16))
        self.assertEqual(tuple(offsets.shape), (2, 2, 6, 8))
        for i in range(2):
            want = reference_attention(f[i], mask[0, 0])
            np.testing.assert_allclose(y[i].double().numpy(), want, rtol=1e-5, atol=1e-5)
        # Best matches never point into the hole.
        md = mask[0, 0, ::8, ::8]
        for r, c in offsets[0].view(2, -1).t().long().tolist():
            window = md[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2]
            self.assertEqual(window.sum().item(), 0.0)

    def test_attention_is_reported(self):
        torch.manual_seed(2)
        gen = pm.Generator(1, 8)
        x, mask, _ = hole_batch(1, 1, 64, 4)
        with torch.no_grad():
            _, _, _, inter = gen(x, mask, return_intermediates=True)
            want, _ = pm.contextual_attention(inter["pmconv6"], inter["pmconv6"], mask)
        self.assertTrue(torch.equal(inter["attention"], want))
        self.assertGreaterEqual(inter["pmconv6"].min().item(), 0.0)  # ReLU before attention

    def test_dropout(self):
        torch.manual_seed(7)
        gen = pm.Generator(1, 8)
        x, mask, _ = hole_batch(3, 1, 64, 9)
        with torch.no_grad():
            a = gen(x, mask)[1]
            b = gen(x, mask)[1]
            self.assertTrue(torch.equal(a, b))
            gen.set_dropout(True)
            c, d, _, inter = gen(x, mask, return_intermediates=True)
            e = gen(x, mask)[1]
            self.assertFalse(torch.equal(d, e))
            self.assertFalse(torch.equal(a, d))
            # Only the effective set of PICARD's code, coarse network only.
            masks = inter["dropout_masks"]
            self.assertEqual(set(masks), set(pm.DEFAULT_DROPOUT_LAYERS))
            self.assertEqual(tuple(masks["coarse_generator.conv3"].shape), (3, 16))
            self.assertEqual(tuple(masks["coarse_generator.conv5"].shape), (3, 32))
            kept = torch.cat([m.flatten() for m in masks.values()])
            self.assertTrue(bool(((kept == 0) | (kept == 1)).all()))
            self.assertTrue(0.3 < kept.mean().item() < 0.7)
            # Replaying the recorded masks reproduces the pass exactly, also with dropout off.
            again = gen(x, mask, dropout_masks=masks)
            self.assertTrue(torch.equal(again[0], c))
            self.assertTrue(torch.equal(again[1], d))
            gen.set_dropout(False)
            again = gen(x, mask, dropout_masks=masks)
            self.assertTrue(torch.equal(again[1], d))
            # A mask zeroes whole channels and scales the rest by 1/(1-p).
            block = gen.coarse_generator.conv3
            h = torch.randn(3, 16, 8, 8)
            keep = torch.zeros(3, 16)
            keep[:, ::2] = 1
            ctx = pm.DropoutContext(0.5, [], {"coarse_generator.conv3": keep})
            out = block(h, ctx)
            plain = block(h)
            self.assertTrue(torch.equal(out[:, 1::2], torch.zeros_like(out[:, 1::2])))
            torch.testing.assert_close(out[:, ::2], plain[:, ::2] * 2.0)
            with self.assertRaises(ValueError):
                gen(x, mask, dropout_masks={"coarse_generator.nope": keep})
            with self.assertRaises(ValueError):
                gen(x, mask, dropout_masks={"coarse_generator.conv3": torch.ones(3, 15)})

    def test_seeded_dropout_and_other_layer_sets(self):
        torch.manual_seed(1)
        gen = pm.Generator(1, 8)
        x, mask, _ = hole_batch(2, 1, 64, 2)
        gen.set_dropout(True, pm.PAPER_DROPOUT_LAYERS, 0.3)
        with torch.no_grad():
            a = gen(x, mask, generator=torch.Generator().manual_seed(4))[1]
            b = gen(x, mask, generator=torch.Generator().manual_seed(4))[1]
            _, _, _, inter = gen(x, mask, return_intermediates=True)
        self.assertTrue(torch.equal(a, b))
        self.assertEqual(set(inter["dropout_masks"]), set(pm.PAPER_DROPOUT_LAYERS))
        with self.assertRaises(ValueError):
            gen.set_dropout(True, ["fine_generator.conv99"])

    def test_critic_features(self):
        torch.manual_seed(0)
        local = pm.LocalDis(1, 8)
        crops = torch.rand(2, 1, 128, 128) * 2 - 1
        with torch.no_grad():
            feats = pm.critic_features(local, crops)
            self.assertEqual(tuple(feats.shape), (2, 4 * 8 * 8 * 8))
            h = crops
            for conv in (local.dis_conv_module.conv1, local.dis_conv_module.conv2,
                         local.dis_conv_module.conv3, local.dis_conv_module.conv4):
                h = torch.nn.functional.leaky_relu(conv.conv(h), 0.2)
            torch.testing.assert_close(feats, h.flatten(1))
            self.assertEqual(tuple(local(crops).shape), (2, 1))
            self.assertEqual(tuple(pm.GlobalDis(1, 8)(torch.zeros(1, 1, 256, 256)).shape),
                             (1, 1))

    def test_random_checkpoint_cli(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "ckpt")
            env = dict(os.environ, PYTHONPATH=root)
            subprocess.run([sys.executable, "-m", "train.picard_model", "--random-checkpoint",
                            out, "--cnum", "16", "--input-dim", "1", "--ndf", "8", "--seed",
                            "0", "--iteration", "12"], check=True, env=env, cwd=tmp,
                           stdout=subprocess.DEVNULL)
            self.assertEqual(sorted(os.listdir(out)), ["dis_00000012.pt", "gen_00000012.pt"])
            sd = torch.load(os.path.join(out, "gen_00000012.pt"))
            self.assertEqual(list(sd.keys()), expected_generator_keys())
            gen = pm.Generator(1, 16)
            gen.load_state_dict(sd, strict=True)
            dis = torch.load(os.path.join(out, "dis_00000012.pt"))
            self.assertEqual(sorted(dis.keys()), ["globalD", "localD"])
            pm.LocalDis(1, 8).load_state_dict(dis["localD"], strict=True)
            pm.GlobalDis(1, 8).load_state_dict(dis["globalD"], strict=True)
            # Same seed, same weights.
            again = os.path.join(tmp, "again")
            pm.write_random_checkpoint(again, cnum=16, input_dim=1, ndf=8, seed=0,
                                       iteration=12)
            sd2 = torch.load(os.path.join(again, "gen_00000012.pt"))
            for key in sd:
                self.assertTrue(torch.equal(sd[key], sd2[key]), key)
            bad = subprocess.run([sys.executable, "-m", "train.picard_model",
                                  "--random-checkpoint", out, "--cnum", "15"], env=env,
                                 cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.assertNotEqual(bad.returncode, 0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    unittest.main()
