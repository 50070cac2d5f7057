"""Tests of train/train.py: a few iterations of PICARD's recipe at a tiny size on the CPU,
the files it writes, exact resuming, the recipe's pieces, the BCS-DBT CSV route through
picard-cli, and the bundled demo model (train/demo-model/)."""

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from train import picard_model as pm  # noqa: E402
from train import train as tr  # noqa: E402
from test_picard_model import expected_generator_keys  # noqa: E402

CRITIC_KEYS = sorted(["dis_conv_module.conv%d.conv.%s" % (i, k)
                      for i in range(1, 5) for k in ("weight", "bias")]
                     + ["linear.weight", "linear.bias"])
TINY = ["--patch-size", "32", "--hole-size", "16", "--cnum", "4", "--ndf", "2",
        "--batch-size", "3", "--n-critic", "2", "--checkpoint-interval", "2",
        "--log-interval", "1", "--threads", "1", "--val-patches", "4"]


def texture(rng, rows, columns):
    """Smooth blobs plus noise, in [0, 1]."""
    y, x = np.mgrid[0:rows, 0:columns]
    phase = rng.random(2) * 6.0
    smooth = 0.5 + 0.3 * np.sin(y * 0.17 + phase[0]) * np.cos(x * 0.13 + phase[1])
    return np.clip(smooth + 0.1 * rng.standard_normal((rows, columns)), 0.0, 1.0)


def write_png(path, values, bits):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if bits == 8:
        Image.fromarray(np.round(values * 255).astype(np.uint8)).save(path)
    else:
        Image.fromarray(np.round(values * 65535).astype(np.uint16)).save(path)


def make_slices(root, volumes=3, slices=3):
    """Volumes as folders; 8-bit and 16-bit slices, one blank slice (never a crop) and one
    too small to crop."""
    rng = np.random.default_rng(5)
    for v in range(volumes):
        for s in range(slices):
            write_png(os.path.join(root, "vol%d" % v, "slice_%04d.png" % s),
                      texture(rng, 48, 40), 16 if (v + s) % 2 else 8)
    write_png(os.path.join(root, "vol0", "blank.png"), np.zeros((48, 40)), 8)
    write_png(os.path.join(root, "vol1", "tiny.png"), texture(rng, 20, 20), 8)


def run_train(args):
    return tr.main(args)


def state_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class TrainSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="picard-train-test-")
        cls.slices = os.path.join(cls.tmp, "slices")
        make_slices(cls.slices)
        cls.run_dir = os.path.join(cls.tmp, "run")
        cls.rc = run_train(["--slices", cls.slices, "-o", cls.run_dir, "--iterations", "4"]
                           + TINY)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_files_in_picards_format(self):
        self.assertEqual(self.rc, 0)
        names = sorted(n for n in os.listdir(self.run_dir) if n.endswith(".pt"))
        # The optimiser state of older checkpoints is dropped; the networks' stay.
        self.assertEqual(names, ["dis_00000002.pt", "dis_00000004.pt", "gen_00000002.pt",
                                 "gen_00000004.pt", "opt_00000004.pt"])
        gen = torch.load(os.path.join(self.run_dir, "gen_00000004.pt"))
        self.assertEqual(sorted(gen), sorted(expected_generator_keys()))
        self.assertEqual(len(gen), 84)
        model = pm.Generator(1, 4)
        model.load_state_dict(gen)  # strict: the names and shapes are PICARD's
        dis = torch.load(os.path.join(self.run_dir, "dis_00000004.pt"))
        self.assertEqual(sorted(dis), ["globalD", "localD"])
        for name, side in (("localD", 1), ("globalD", 2)):
            self.assertEqual(sorted(dis[name]), CRITIC_KEYS)
            self.assertEqual(tuple(dis[name]["linear.weight"].shape), (1, 4 * 2 * side * side))
            self.assertEqual(tuple(dis[name]["dis_conv_module.conv1.conv.weight"].shape),
                             (2, 1, 5, 5))

    def test_log_losses_finite(self):
        records = tr.read_log(os.path.join(self.run_dir, tr.LOG_NAME))
        train = [r for r in records if r["event"] == "train"]
        self.assertEqual([r["iteration"] for r in train], [1, 2, 3, 4])
        for r in train:
            for key in ("wgan_d", "wgan_gp", "d"):
                self.assertTrue(math.isfinite(r[key]), r)
        g_records = [r for r in train if "g" in r]
        # The generator learns only on every n_critic-th (2nd) iteration.
        self.assertEqual([r["iteration"] for r in g_records], [2, 4])
        for r in g_records:
            for key in ("l1", "ae", "wgan_g", "g"):
                self.assertTrue(math.isfinite(r[key]), r)
            self.assertAlmostEqual(r["g"], 1.2 * r["l1"] + 1.2 * r["ae"] + 0.001 * r["wgan_g"],
                                   places=5)
        base = [r for r in records if r["event"] == "baseline"]
        self.assertEqual(len(base), 1)
        self.assertGreater(base[0]["val_blank_fill_l1"], 0.0)
        vals = [r for r in records if r["event"] == "validation"]
        self.assertEqual([r["iteration"] for r in vals], [2, 4])
        best = min(vals, key=lambda r: r["val_hole_l1"])
        it, l1, gen, dis = tr.read_best(self.run_dir)
        self.assertEqual(it, best["iteration"])
        self.assertAlmostEqual(l1, best["val_hole_l1"], places=5)
        self.assertTrue(os.path.exists(gen) and os.path.exists(dis))

    def test_resume_continues_exactly(self):
        other = os.path.join(self.tmp, "resumed")
        base = ["--slices", self.slices, "-o", other] + TINY
        self.assertEqual(run_train(base + ["--iterations", "2"]), 0)
        self.assertFalse(os.path.exists(os.path.join(other, "gen_00000004.pt")))
        self.assertEqual(run_train(base + ["--iterations", "4"]), 0)
        for kind in ("gen", "dis"):
            a = torch.load(os.path.join(self.run_dir, "%s_00000004.pt" % kind))
            b = torch.load(os.path.join(other, "%s_00000004.pt" % kind))
            if kind == "dis":
                self.assertTrue(all(state_equal(a[k], b[k]) for k in a))
            else:
                self.assertTrue(state_equal(a, b))
        strip = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "it_per_s")}
                            for r in rs]  # noqa: E731
        self.assertEqual(strip(tr.read_log(os.path.join(self.run_dir, tr.LOG_NAME))),
                         strip(tr.read_log(os.path.join(other, tr.LOG_NAME))))
        # Changing the networks' shapes on resume is refused.
        bad = ["--slices", self.slices, "-o", other, "--iterations", "6"] + TINY
        bad[bad.index("--cnum") + 1] = "6"
        self.assertEqual(run_train(bad), 1)
        # --no-resume refuses an existing run.
        self.assertEqual(run_train(base + ["--iterations", "6", "--no-resume"]), 1)


class RecipeTest(unittest.TestCase):
    def test_hole_geometry(self):
        for seed in range(300):
            rng = np.random.default_rng([seed, 3])
            (top, left), (y0, y1, x0, x1) = tr.draw_hole(rng, 256, 128, 16)
            self.assertTrue(0 <= top < 128 and 0 <= left < 128)
            self.assertTrue(top <= y0 <= top + 16 and y1 == 2 * top + 128 - y0)
            self.assertTrue(left <= x0 <= left + 16 and x1 == 2 * left + 128 - x0)
            self.assertTrue(96 <= y1 - y0 <= 128 and 96 <= x1 - x0 <= 128)

    def test_spatial_discount(self):
        d = tr.spatial_discount(128, 0.9, "cpu")[0, 0]
        self.assertEqual(tuple(d.shape), (128, 128))
        self.assertAlmostEqual(d[0, 70].item(), 1.0)
        self.assertAlmostEqual(d[64, 64].item(), 0.9 ** 64, places=8)
        self.assertAlmostEqual(d[10, 64].item(), 0.9 ** 10, places=6)
        self.assertTrue(torch.equal(d, d.t()))
        self.assertTrue(torch.all(tr.spatial_discount(16, 1.0, "cpu") == 1.0))

    def test_crops_need_tissue(self):
        tmp = tempfile.mkdtemp(prefix="picard-train-crops-")
        try:
            blank = os.path.join(tmp, "blank.png")
            full = os.path.join(tmp, "full.png")
            write_png(blank, np.zeros((40, 40)), 8)
            write_png(full, texture(np.random.default_rng(1), 40, 40), 16)
            slices = tr.SliceSet([blank, full], 32, 1 << 20)
            crops = tr.draw_crops(slices, np.random.default_rng(0), 50, 32, -0.99, 1000)
            self.assertTrue(np.all(crops.reshape(50, -1).max(axis=1) > -0.99))
            # 16-bit values scaled by 65535, then to [-1, 1].
            pixels, white = tr.read_slice(full)
            self.assertEqual(white, 65535.0)
            self.assertEqual(pixels.dtype, np.uint16)
            self.assertLessEqual(crops.max(), 1.0)
            self.assertGreaterEqual(crops.min(), -1.0)
            with self.assertRaises(tr.TrainError):
                tr.draw_crops(tr.SliceSet([blank], 32, 0), np.random.default_rng(0), 1, 32,
                              -0.99, 20)
        finally:
            shutil.rmtree(tmp)

    def test_optimisers_and_critic_cadence(self):
        args = tr.build_parser().parse_args(["--slices", "x", "-o", "y"] + TINY)
        tr.check_args(tr.build_parser(), args)
        trainer = tr.Trainer(args)
        for opt in (trainer.opt_g, trainer.opt_d):
            self.assertEqual(opt.param_groups[0]["lr"], 1e-4)
            self.assertEqual(tuple(opt.param_groups[0]["betas"]), (0.5, 0.9))
        critic_params = {id(p) for p in trainer.opt_d.param_groups[0]["params"]}
        self.assertEqual(critic_params, {id(p) for p in list(trainer.local.parameters())
                                         + list(trainer.glob.parameters())})
        gt = torch.from_numpy(np.stack([texture(np.random.default_rng(i), 32, 32)
                                        for i in range(3)])[:, None].astype(np.float32)) * 2 - 1

        def snapshot():
            return ({k: v.clone() for k, v in trainer.gen.state_dict().items()},
                    {k: v.clone() for k, v in trainer.local.state_dict().items()})

        g0, d0 = snapshot()
        losses = trainer.step(1, gt, (4, 6), (6, 18, 7, 21))  # 1 % n_critic: critics only
        g1, d1 = snapshot()
        self.assertNotIn("g", losses)
        self.assertTrue(state_equal(g0, g1))
        self.assertFalse(state_equal(d0, d1))
        losses = trainer.step(2, gt, (4, 6), (6, 18, 7, 21))
        g2, d2 = snapshot()
        self.assertIn("g", losses)
        self.assertFalse(state_equal(g1, g2))
        self.assertFalse(state_equal(d1, d2))


@unittest.skipUnless(os.environ.get("PICARD_CLI"), "PICARD_CLI is set by meson test")
class CsvRouteTest(unittest.TestCase):
    def test_normal_volumes_only(self):
        cli = os.environ["PICARD_CLI"]
        tmp = tempfile.mkdtemp(prefix="picard-train-csv-")
        try:
            phantoms = os.path.join(tmp, "phantoms")
            subprocess.run([cli, "phantom", "-o", phantoms, "--normal", "--rows", "96",
                            "--columns", "80", "--frames", "2", "--seed", "3", "--count", "3"],
                           check=True, stdout=subprocess.DEVNULL)
            labels = os.path.join(phantoms, "BCS-DBT-labels.csv")
            with open(labels, newline="") as stream:
                rows = list(csv.DictReader(stream))
            rows[1]["Normal"], rows[1]["Cancer"] = "0", "1"
            with open(labels, "w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            out = os.path.join(tmp, "run")
            rc = run_train(["--filepaths-csv", os.path.join(phantoms, "BCS-DBT-file-paths.csv"),
                            "--labels-csv", labels, "--picard-cli", cli, "-o", out,
                            "--iterations", "1"] + TINY)
            self.assertEqual(rc, 0)
            converted = sorted(os.listdir(os.path.join(out, "slices")))
            self.assertEqual(converted, sorted([rows[0]["PatientID"], rows[2]["PatientID"]]))
            for patient in converted:
                found = [f for r, _, fs in os.walk(os.path.join(out, "slices", patient))
                         for f in fs]
                self.assertEqual(sorted(found), [".complete", "slice_0000.png",
                                                 "slice_0001.png"])
            self.assertTrue(os.path.exists(os.path.join(out, "gen_00000001.pt")))
            # A broken path is reported, not a traceback.
            with open(os.path.join(phantoms, "BCS-DBT-file-paths.csv")) as stream:
                text = stream.read()
            broken = os.path.join(tmp, "broken.csv")
            with open(broken, "w") as stream:
                stream.write(text.replace(rows[0]["PatientID"] + "/", "missing/"))
            rc = run_train(["--filepaths-csv", broken, "--labels-csv", labels,
                            "--data-root", phantoms, "--picard-cli", cli,
                            "-o", os.path.join(tmp, "run2"), "--iterations", "1"] + TINY)
            self.assertEqual(rc, 1)
        finally:
            shutil.rmtree(tmp)


DEMO = os.path.join(ROOT, "train", "demo-model")


@unittest.skipUnless(os.environ.get("PICARD_CLI"), "PICARD_CLI is set by meson test")
class DemoModelTest(unittest.TestCase):
    """The bundled model completes held-out normal phantom patches (a seed never trained on)
    better than a blank fill and than the mean of the visible pixels."""

    def test_completes_better_than_blank(self):
        best = tr.read_best(DEMO)
        self.assertIsNotNone(best, "train/demo-model/best.txt is missing")
        with open(os.path.join(DEMO, tr.CONFIG_NAME)) as stream:
            config = json.load(stream)
        state = torch.load(best[2], map_location="cpu")
        gen = pm.Generator(1, config["cnum"])
        gen.load_state_dict(state)
        tmp = tempfile.mkdtemp(prefix="picard-demo-test-")
        try:
            cli = os.environ["PICARD_CLI"]
            subprocess.run([cli, "phantom", "-o", tmp, "--normal", "--rows", "614",
                            "--columns", "499", "--frames", "3", "--seed", "90001"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, "BCS-DBT-file-paths.csv"), newline="") as stream:
                row = next(csv.DictReader(stream))
            subprocess.run([cli, "slices", os.path.join(tmp, row["classic_path"]), "-o",
                            os.path.join(tmp, "png"), "--view", row["View"], "--quiet"],
                           check=True)
            slices = tr.SliceSet(sorted(os.path.join(tmp, "png", n)
                                        for n in os.listdir(os.path.join(tmp, "png"))),
                                 config["patch_size"], 1 << 30)
            patches = torch.from_numpy(tr.draw_crops(slices, np.random.default_rng(11), 48,
                                                     config["patch_size"], -0.5, 10000))
        finally:
            shutil.rmtree(tmp)
        torch.set_num_threads(1)
        scores = tr.hole_l1(gen, patches, config["hole_size"], "cpu", 16)
        self.assertLess(scores["model"], 0.8 * scores["blank"], scores)
        self.assertLess(scores["model"], scores["mean"], scores)

        # The viewer's C network (picard-cli infer) completes them as PyTorch does.
        tmp = tempfile.mkdtemp(prefix="picard-demo-infer-")
        try:
            shutil.copy(best[2], tmp)  # the generator alone: the C side checks it
            mask = tr.centred_mask(config["patch_size"], config["hole_size"], "cpu")
            x = (patches[:4] * (1.0 - mask)).numpy().astype(np.float32)
            np.save(os.path.join(tmp, "input.npy"), x)
            np.save(os.path.join(tmp, "mask.npy"), mask.numpy().astype(np.float32))
            subprocess.run([os.environ["PICARD_CLI"], "infer", "--checkpoint", tmp,
                            "--input", os.path.join(tmp, "input.npy"),
                            "--mask", os.path.join(tmp, "mask.npy"),
                            "-o", os.path.join(tmp, "out")], check=True,
                           stdout=subprocess.DEVNULL)
            c_out = np.load(os.path.join(tmp, "out", "x_stage2.npy"))
        finally:
            shutil.rmtree(tmp)
        with torch.no_grad():
            _, x2, _ = gen(torch.from_numpy(x), mask.expand(4, -1, -1, -1))
        self.assertLess(float(np.abs(c_out - x2.numpy()).max()), 1e-3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
