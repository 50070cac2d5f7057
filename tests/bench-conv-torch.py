#!/usr/bin/env python3
"""PyTorch's conv2d on the shapes given as JSON ([[cin, cout, k, stride, dilation, size,
uses], ...]), batch, repetitions, threads and precision (fp32 or fp16) as arguments, on CUDA when
PyTorch has a GPU (fp32 with TF32 off, the precision the Vulkan side uses; fp16 on tensor
cores) and on the CPU otherwise (fp32). Prints the device on the first line, then per shape
one line: GFLOP/s of wall-clock time and GFLOP per CPU-second of this process (0 on CUDA) of
the median repetition, and GFLOP/s of the median device time (CUDA events around the
convolution; the wall-clock time on the CPU); last the same for the layers run as the
generator runs them ("network ..."): each as often as it uses it, synchronised once. On the
CPU a last line "sgemm GFLOP/s LIBRARY": a 1024^3 fp32 matrix product through the BLAS that
PyTorch loaded, the yardstick issue 3 gives its lavapipe target against (OpenBLAS).
Run by tests/bench-conv.c (Debian's /usr/bin/python3 with python3-torch)."""
import json
import sys
import time

import torch


def main():
    shapes = json.loads(sys.argv[1])
    batch, reps, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    dtype = torch.float16 if len(sys.argv) > 5 and sys.argv[5] == "fp16" else torch.float32
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        print(f"device CUDA {torch.cuda.get_device_name()}, {str(dtype)[6:]}", flush=True)
    else:
        # PyTorch has no fp16 convolution on the CPU: the peer stays in fp32 there.
        dtype = torch.float32
        print(f"device CPU, {threads} threads, fp32", flush=True)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed(run, flop):
        """GFLOP/s of the median wall-clock repetition of run(), GFLOP per CPU-second of that
        repetition (0 on CUDA), GFLOP/s of the median device time, as on the Vulkan side."""
        # Warm-up of at least a quarter of a second.
        start = time.perf_counter()
        while time.perf_counter() - start < 0.25:
            run()
            sync()
        times, device_times = [], []
        for _ in range(reps):
            if cuda:
                events = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
            start, cpu_start = time.perf_counter(), time.process_time()
            if cuda:
                events[0].record()
            run()
            if cuda:
                events[1].record()
            sync()
            times.append((time.perf_counter() - start, time.process_time() - cpu_start))
            device_times.append(events[0].elapsed_time(events[1]) / 1e3 if cuda
                                else times[-1][0])
        seconds, cpu = sorted(times)[len(times) // 2]
        device_seconds = sorted(device_times)[len(device_times) // 2]
        per_cpu = 0.0 if cuda else flop / cpu / 1e9
        return f"{flop / seconds / 1e9:.3f} {per_cpu:.3f} {flop / device_seconds / 1e9:.3f}"

    with torch.no_grad():
        layers, network_flop = [], 0.0
        for cin, cout, k, stride, dil, size, count in shapes:
            conv = torch.nn.Conv2d(cin, cout, k, stride=stride, dilation=dil,
                                   padding=dil * (k // 2)).to(device, dtype)
            x = torch.randn(batch, cin, size, size, device=device, dtype=dtype)
            flop = 2.0 * conv(x).numel() * cin * k * k
            print(timed(lambda: conv(x), flop), flush=True)
            layers.append((conv, x, count))
            network_flop += flop * count

        # The layers as the generator runs them: each as often as it uses it, one
        # synchronisation at the end.
        def network():
            for conv, x, count in layers:
                for _ in range(count):
                    conv(x)
        print("network " + timed(network, network_flop), flush=True)

        if not cuda:
            a, b = (torch.rand(1024, 1024) for _ in range(2))
            rate = timed(lambda: torch.mm(a, b), 2.0 * 1024 ** 3).split()[0]
            print(f"sgemm {rate} {blas_library()}", flush=True)


def blas_library():
    """The BLAS library this process has loaded (Debian's torch calls the system BLAS)."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.rsplit("/", 1)[-1]:
                return path
    return "unknown"


if __name__ == '__main__':
    main()
