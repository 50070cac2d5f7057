"""PICARD's completion network (DeepFill v1 generator) and its two critics, in PyTorch.

Written from SPEC.md section 2.  The module and parameter names match the checkpoints that
PICARD's trainer writes (``gen_%08d.pt``, ``dis_%08d.pt``), so ``load_state_dict`` takes them
as they are.  The C viewer reads the same files (compute/picard-checkpoint.c) and is compared
against this implementation, which is why the spatial dropout can be driven by explicit masks
and why the contextual-attention output can be returned.

Command line: ``python3 -m train.picard_model --random-checkpoint OUTDIR [--cnum C]
[--input-dim D] [--ndf N] [--seed S] [--iteration I]`` writes random-weight checkpoints.
"""

import argparse
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

# Layers whose dropout PICARD's released code actually switches on (SPEC section 1).
DEFAULT_DROPOUT_LAYERS = tuple(
    "coarse_generator." + name
    for name in ("conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
                 "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous"))

# The layers of the paper's variant: every layer except the first and last of each
# sub-network, and none after conv10_atrous (appendix A.1).
PAPER_DROPOUT_LAYERS = DEFAULT_DROPOUT_LAYERS + tuple(
    "fine_generator." + name
    for name in ("conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
                 "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous",
                 "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5",
                 "pmconv6"))

SOFTMAX_SCALE = 10.0
ATTENTION_RATE = 2
ESCAPE_NAN = 1e-4


class DropoutContext:
    """Spatial (channel) dropout state of one forward pass.

    A layer listed in ``layers`` multiplies its activated output by a per-sample,
    per-channel keep mask (0 or 1) scaled by 1/(1-p), as ``nn.Dropout2d`` does.  Masks given
    in ``masks`` (qualified layer name -> N x C tensor of 0/1) are used as they are, for any
    layer they name; the others are drawn from ``generator`` (or the global RNG).  Every
    mask used is recorded in ``used`` so that a pass can be replayed.
    """

    def __init__(self, p, layers, masks=None, generator=None):
        if not 0.0 <= p < 1.0:
            raise ValueError("dropout probability must be in [0, 1), got %r" % (p,))
        self.p = p
        self.layers = frozenset(layers)
        self.masks = dict(masks or {})
        self.generator = generator
        self.used = {}

    def apply(self, name, y):
        mask = self.masks.get(name)
        if mask is None:
            if name not in self.layers or self.p == 0.0:
                return y
            keep = torch.rand(y.shape[:2], generator=self.generator, device=y.device)
            mask = (keep >= self.p).to(y.dtype)
        else:
            mask = mask.to(device=y.device, dtype=y.dtype)
            if mask.shape != y.shape[:2]:
                raise ValueError("dropout mask for %s has shape %s, expected %s"
                                 % (name, tuple(mask.shape), tuple(y.shape[:2])))
        self.used[name] = mask
        return y * (mask / (1.0 - self.p))[:, :, None, None]


class ConvBlock(nn.Module):
    """Zero-padded convolution with bias, then an activation; holds ``conv`` as in PICARD."""

    def __init__(self, cin, cout, ksize, stride=1, dilation=1, activation="elu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ksize, stride=stride,
                              padding=dilation * (ksize - 1) // 2, dilation=dilation,
                              bias=True)
        self.activation = activation
        self.qualname = None  # set by the owning network, used to look up dropout

    def forward(self, x, dropout=None):
        y = self.conv(x)
        if self.activation == "elu":
            y = F.elu(y, alpha=1.0)
        elif self.activation == "relu":
            y = F.relu(y)
        elif self.activation == "lrelu":
            y = F.leaky_relu(y, 0.2)
        elif self.activation != "none":
            raise ValueError("unknown activation %r" % (self.activation,))
        if dropout is not None:
            y = dropout.apply(self.qualname, y)
        return y


def _up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


class CoarseGenerator(nn.Module):
    def __init__(self, input_dim=1, cnum=32):
        super().__init__()
        c = cnum
        self.conv1 = ConvBlock(input_dim + 2, c, 5)
        self.conv2_downsample = ConvBlock(c, 2 * c, 3, stride=2)
        self.conv3 = ConvBlock(2 * c, 2 * c, 3)
        self.conv4_downsample = ConvBlock(2 * c, 4 * c, 3, stride=2)
        self.conv5 = ConvBlock(4 * c, 4 * c, 3)
        self.conv6 = ConvBlock(4 * c, 4 * c, 3)
        self.conv7_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=2)
        self.conv8_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=4)
        self.conv9_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=8)
        self.conv10_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=16)
        self.conv11 = ConvBlock(4 * c, 4 * c, 3)
        self.conv12 = ConvBlock(4 * c, 4 * c, 3)
        self.conv13 = ConvBlock(4 * c, 2 * c, 3)
        self.conv14 = ConvBlock(2 * c, 2 * c, 3)
        self.conv15 = ConvBlock(2 * c, c, 3)
        self.conv16 = ConvBlock(c, c // 2, 3)
        self.conv17 = ConvBlock(c // 2, input_dim, 3, activation="none")

    def forward(self, x, mask, dropout=None):
        ones = torch.ones_like(mask)
        h = self.conv1(torch.cat([x, ones, mask], dim=1), dropout)
        for name in ("conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
                     "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous",
                     "conv11", "conv12"):
            h = getattr(self, name)(h, dropout)
        h = self.conv14(self.conv13(_up(h), dropout), dropout)
        h = self.conv15(_up(h), dropout)
        h = self.conv17(self.conv16(h, dropout), dropout)
        return torch.clamp(h, -1.0, 1.0)


def tf_same_pad(x, ksize, stride):
    """Zero padding as TensorFlow's "same": extra row/column goes to the bottom/right."""
    def amounts(n):
        out = (n + stride - 1) // stride
        total = max(0, (out - 1) * stride + ksize - n)
        return total // 2, total - total // 2
    top, bottom = amounts(x.shape[2])
    left, right = amounts(x.shape[3])
    return F.pad(x, (left, right, top, bottom))


def extract_patches(x, ksize, stride):
    """N x C x H x W -> N x L x C x k x k, patches in row-major order of their positions."""
    n, c = x.shape[:2]
    cols = F.unfold(tf_same_pad(x, ksize, stride), ksize, stride=stride)  # N, C*k*k, L
    return cols.view(n, c, ksize, ksize, -1).permute(0, 4, 1, 2, 3)


def _fuse(scores, hb, wb, hf, wf):
    """Steps 5 of the SPEC: identity 3x3 conv over the (L_b, L_f) matrix in both orders."""
    eye = torch.eye(3, dtype=scores.dtype, device=scores.device).view(1, 1, 3, 3)
    y = F.conv2d(scores.reshape(1, 1, hb * wb, hf * wf), eye, padding=1)
    y = y.view(hb, wb, hf, wf).permute(1, 0, 3, 2).reshape(1, 1, wb * hb, wf * hf)
    y = F.conv2d(y, eye, padding=1)
    return y.view(wb, hb, wf, hf).permute(1, 0, 3, 2).reshape(hb * wb, hf, wf)


def contextual_attention(f, b, mask, rate=ATTENTION_RATE, softmax_scale=SOFTMAX_SCALE,
                         fuse=True):
    """Contextual attention with ksize 3, stride 1, fuse_k 3 (SPEC section 2, steps 1-7).

    f, b: N x C x H x W (H, W even); mask: N x 1 x (4H) x (4W), 1 in the hole.  Only the first
    sample's mask is used, as in PICARD.  Returns (y, offsets): y is N x C x H x W, offsets is
    N x 2 x H/rate x W/rate holding (row, column) of the best-matching background patch of
    every foreground position (for visualisation only).
    """
    n, c, h, w = b.shape
    if h % rate or w % rate:
        raise ValueError("contextual attention needs sizes divisible by %d, got %dx%d"
                         % (rate, h, w))
    raw = extract_patches(b, 2 * rate, rate)  # N, L, C, 4, 4
    f_down = f[:, :, ::rate, ::rate]
    b_down = b[:, :, ::rate, ::rate]
    hf, wf = f_down.shape[2:]
    hb, wb = b_down.shape[2:]
    patches = extract_patches(b_down, 3, 1)  # N, L, C, 3, 3
    factor = 4 * rate
    if mask.shape[2] != h * 4 or mask.shape[3] != w * 4:
        raise ValueError("mask must be 4x the attention input's size")
    m_down = mask[:1, :1, ::factor, ::factor]
    m_patches = extract_patches(m_down, 3, 1)[0]  # L, 1, 3, 3
    mm = (m_patches.mean(dim=(1, 2, 3)) == 0.0).to(f.dtype).view(-1, 1, 1)  # L, 1, 1

    out = []
    offsets = []
    for i in range(n):
        wi = patches[i]
        norm = torch.sqrt((wi * wi + ESCAPE_NAN).sum(dim=(1, 2, 3), keepdim=True))
        scores = F.conv2d(F.pad(f_down[i:i + 1], (1, 1, 1, 1)), wi / norm)[0]  # L, hf, wf
        if fuse:
            scores = _fuse(scores, hb, wb, hf, wf)
        scores = scores * mm
        att = F.softmax(scores * softmax_scale, dim=0) * mm
        best = torch.argmax(att, dim=0)
        offsets.append(torch.stack([best // wb, best % wb]).to(f.dtype))
        pasted = F.conv_transpose2d(att[None], raw[i], stride=rate, padding=1) / 4.0
        out.append(pasted)
    return torch.cat(out, dim=0), torch.stack(offsets)


class FineGenerator(nn.Module):
    def __init__(self, input_dim=1, cnum=32):
        super().__init__()
        c = cnum
        self.conv1 = ConvBlock(input_dim + 2, c, 5)
        self.conv2_downsample = ConvBlock(c, c, 3, stride=2)
        self.conv3 = ConvBlock(c, 2 * c, 3)
        self.conv4_downsample = ConvBlock(2 * c, 2 * c, 3, stride=2)
        self.conv5 = ConvBlock(2 * c, 4 * c, 3)
        self.conv6 = ConvBlock(4 * c, 4 * c, 3)
        self.conv7_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=2)
        self.conv8_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=4)
        self.conv9_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=8)
        self.conv10_atrous = ConvBlock(4 * c, 4 * c, 3, dilation=16)
        self.pmconv1 = ConvBlock(input_dim + 2, c, 5)
        self.pmconv2_downsample = ConvBlock(c, c, 3, stride=2)
        self.pmconv3 = ConvBlock(c, 2 * c, 3)
        self.pmconv4_downsample = ConvBlock(2 * c, 4 * c, 3, stride=2)
        self.pmconv5 = ConvBlock(4 * c, 4 * c, 3)
        self.pmconv6 = ConvBlock(4 * c, 4 * c, 3, activation="relu")
        self.pmconv9 = ConvBlock(4 * c, 4 * c, 3)
        self.pmconv10 = ConvBlock(4 * c, 4 * c, 3)
        self.allconv11 = ConvBlock(8 * c, 4 * c, 3)
        self.allconv12 = ConvBlock(4 * c, 4 * c, 3)
        self.allconv13 = ConvBlock(4 * c, 2 * c, 3)
        self.allconv14 = ConvBlock(2 * c, 2 * c, 3)
        self.allconv15 = ConvBlock(2 * c, c, 3)
        self.allconv16 = ConvBlock(c, c // 2, 3)
        self.allconv17 = ConvBlock(c // 2, input_dim, 3, activation="none")

    def forward(self, x, x_stage1, mask, dropout=None, record=None):
        x1 = x_stage1 * mask + x * (1.0 - mask)
        xnow = torch.cat([x1, torch.ones_like(mask), mask], dim=1)
        h = xnow
        for name in ("conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5",
                     "conv6", "conv7_atrous", "conv8_atrous", "conv9_atrous",
                     "conv10_atrous"):
            h = getattr(self, name)(h, dropout)
        hallu = h
        p = xnow
        for name in ("pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample",
                     "pmconv5", "pmconv6"):
            p = getattr(self, name)(p, dropout)
        attended, offsets = contextual_attention(p, p, mask)
        if record is not None:
            record["pmconv6"] = p
            record["attention"] = attended
            record["hallu"] = hallu
        p = self.pmconv10(self.pmconv9(attended, dropout), dropout)
        h = torch.cat([hallu, p], dim=1)
        h = self.allconv12(self.allconv11(h, dropout), dropout)
        h = self.allconv14(self.allconv13(_up(h), dropout), dropout)
        h = self.allconv15(_up(h), dropout)
        h = self.allconv17(self.allconv16(h, dropout), dropout)
        return torch.clamp(h, -1.0, 1.0), offsets


class Generator(nn.Module):
    """PICARD's generator.  Spatial dropout is off unless ``set_dropout`` turns it on (or
    explicit masks are passed to ``forward``)."""

    def __init__(self, input_dim=1, cnum=32, dropout_layers=DEFAULT_DROPOUT_LAYERS,
                 dropout_p=0.5):
        super().__init__()
        if cnum < 2 or cnum % 2:
            raise ValueError("cnum must be even and positive, got %r" % (cnum,))
        self.input_dim = input_dim
        self.cnum = cnum
        self.coarse_generator = CoarseGenerator(input_dim, cnum)
        self.fine_generator = FineGenerator(input_dim, cnum)
        for name, module in self.named_modules():
            if isinstance(module, ConvBlock):
                module.qualname = name
        self.layer_names = frozenset(n for n, m in self.named_modules()
                                     if isinstance(m, ConvBlock))
        self.dropout_enabled = False
        self.set_dropout(False, dropout_layers, dropout_p)

    def set_dropout(self, enabled, layers=None, p=None):
        if layers is not None:
            unknown = sorted(set(layers) - self.layer_names)
            if unknown:
                raise ValueError("unknown dropout layers: %s" % ", ".join(unknown))
            self.dropout_layers = frozenset(layers)
        if p is not None:
            if not 0.0 <= p < 1.0:
                raise ValueError("dropout probability must be in [0, 1), got %r" % (p,))
            self.dropout_p = float(p)
        self.dropout_enabled = bool(enabled)

    def forward(self, x, mask, dropout_masks=None, generator=None,
                return_intermediates=False):
        """x: N x input_dim x H x W in [-1,1] with the hole zeroed, mask: N x 1 x H x W (1 in
        the hole), H and W multiples of 8.  dropout_masks: qualified layer name -> N x C keep
        mask of 0/1, applied even when dropout is off.  Returns (x_stage1, x_stage2,
        offset_flow), plus a dict of intermediates (attention output, dropout masks used)
        when return_intermediates is set."""
        if x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError("image size must be a multiple of 8, got %dx%d"
                             % (x.shape[2], x.shape[3]))
        if dropout_masks:
            unknown = sorted(set(dropout_masks) - self.layer_names)
            if unknown:
                raise ValueError("unknown dropout layers: %s" % ", ".join(unknown))
        layers = self.dropout_layers if self.dropout_enabled else ()
        dropout = DropoutContext(self.dropout_p, layers, dropout_masks, generator)
        record = {} if return_intermediates else None
        x_stage1 = self.coarse_generator(x, mask, dropout)
        x_stage2, offset_flow = self.fine_generator(x, x_stage1, mask, dropout, record)
        if return_intermediates:
            record["dropout_masks"] = dropout.used
            return x_stage1, x_stage2, offset_flow, record
        return x_stage1, x_stage2, offset_flow


def complete(x, x_stage2, mask):
    """PICARD's completion: the network's output inside the hole, the input elsewhere."""
    return x_stage2 * mask + x * (1.0 - mask)


class DisConvModule(nn.Module):
    def __init__(self, input_dim, cnum):
        super().__init__()
        d = cnum
        self.conv1 = ConvBlock(input_dim, d, 5, stride=2, activation="lrelu")
        self.conv2 = ConvBlock(d, 2 * d, 5, stride=2, activation="lrelu")
        self.conv3 = ConvBlock(2 * d, 4 * d, 5, stride=2, activation="lrelu")
        self.conv4 = ConvBlock(4 * d, 4 * d, 5, stride=2, activation="lrelu")

    def forward(self, x):
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


class _Critic(nn.Module):
    image_size = None

    def __init__(self, input_dim=1, cnum=32):
        super().__init__()
        self.input_dim = input_dim
        self.cnum = cnum
        self.dis_conv_module = DisConvModule(input_dim, cnum)
        side = self.image_size // 16
        self.linear = nn.Linear(4 * cnum * side * side, 1)

    def forward(self, x):
        return self.linear(self.dis_conv_module(x).flatten(1))


class LocalDis(_Critic):
    """Critic of the 128x128 hole region."""
    image_size = 128


class GlobalDis(_Critic):
    """Critic of the whole 256x256 patch."""
    image_size = 256


def critic_features(model, crops):
    """The local critic's conv4 + LeakyReLU(0.2) output, flattened (4d*8*8 for 128x128):
    PICARD's feature space for MCD_feature."""
    return model.dis_conv_module(crops).flatten(1)


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def _save_atomic(obj, path):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide the weights from others
        with os.fdopen(fd, "wb") as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_random_checkpoint(outdir, cnum=32, input_dim=1, ndf=32, seed=0, iteration=0,
                            patch_size=256, hole_size=128):
    """Write gen_%08d.pt and dis_%08d.pt with random (default-initialised) weights, the
    critics sized for patch_size x patch_size patches with a hole_size hole; returns their
    paths."""
    torch.manual_seed(seed)
    gen = Generator(input_dim, cnum)
    local = type("LocalDis%d" % hole_size, (LocalDis,), {"image_size": hole_size})(input_dim, ndf)
    glob = type("GlobalDis%d" % patch_size, (GlobalDis,), {"image_size": patch_size})(input_dim,
                                                                                     ndf)
    os.makedirs(outdir, exist_ok=True)
    gen_path = os.path.join(outdir, "gen_%08d.pt" % iteration)
    dis_path = os.path.join(outdir, "dis_%08d.pt" % iteration)
    _save_atomic(gen.state_dict(), gen_path)
    _save_atomic({"localD": local.state_dict(), "globalD": glob.state_dict()}, dis_path)
    return gen_path, dis_path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m train.picard_model",
                                     description="PICARD's completion network.")
    parser.add_argument("--random-checkpoint", metavar="OUTDIR", required=True,
                        help="write random-weight gen_%%08d.pt and dis_%%08d.pt into OUTDIR")
    parser.add_argument("--cnum", type=int, default=32, help="generator width c (32)")
    parser.add_argument("--input-dim", type=int, default=1, help="image channels (1)")
    parser.add_argument("--ndf", type=int, default=32, help="critic width d (32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iteration", type=int, default=0)
    args = parser.parse_args(argv)
    if args.cnum < 2 or args.cnum % 2 or args.input_dim < 1 or args.ndf < 1 \
            or args.iteration < 0:
        parser.error("--cnum must be even and positive; --input-dim, --ndf positive; "
                     "--iteration non-negative")
    paths = write_random_checkpoint(args.random_checkpoint, args.cnum, args.input_dim,
                                    args.ndf, args.seed, args.iteration)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
